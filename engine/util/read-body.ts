/** An HTTP answer's body read with a bound: what a tracker or a web seed sends is the sender's choice, not ours. */
import { concatBytes } from './bytes.js'

/**
 * The body of `res`, at most `max` bytes: longer (by its Content-Length, or once read that far) is `tooLong()`,
 * thrown with the rest left unread. Read in chunks, never into one buffer of `max` bytes sized before any came.
 */
export async function readBodyAtMost (res: Response, max: number, tooLong: () => Error): Promise<Uint8Array> {
  if (Number(res.headers.get('content-length') ?? 0) > max) {
    void res.body?.cancel().catch(() => {})
    throw tooLong()
  }
  const reader = res.body?.getReader()
  const chunks: Uint8Array[] = []
  let length = 0
  for (;;) {
    const chunk = await reader?.read()
    if (chunk === undefined || chunk.done) return concatBytes(chunks)
    if ((length += chunk.value.length) > max) {
      void reader!.cancel().catch(() => {})
      throw tooLong()
    }
    chunks.push(chunk.value)
  }
}
