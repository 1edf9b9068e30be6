/**
 * BEP 15, the UDP tracker protocol, client side (Node-only: node:dgram). Two exchanges of one datagram each:
 *
 *   connect   we -> tracker  protocol_id u64 (0x41727101980), action u32 = 0, transaction_id u32        (16 bytes)
 *             tracker -> we  action u32 = 0, transaction_id u32, connection_id u64                     (16 bytes)
 *   announce  we -> tracker  connection_id u64, action u32 = 1, transaction_id u32, info_hash 20, peer_id 20,
 *                            downloaded u64, left u64, uploaded u64, event u32 (0 none, 1 completed, 2 started,
 *                            3 stopped), IP u32 = 0, key u32, num_want i32, port u16                   (98 bytes)
 *             tracker -> we  action u32 = 1, transaction_id u32, interval u32, leechers u32, seeders u32,
 *                            then 6 bytes per IPv4 peer (20 + 6n bytes)
 *   error     tracker -> we  action u32 = 3, transaction_id u32, message
 *
 * All integers big-endian. "If a response is not received after 15 * 2 ^ n seconds, the client should retransmit"
 * (BEP 15): peers here give up sooner (TRACKER_REQUEST_TIMEOUT_MS over UDP_TRACKER_TRIES sends) and try again at the
 * next announce.
 */
import { createSocket, type Socket } from 'node:dgram'
import { isIP } from 'node:net'
import { TRACKER_REQUEST_TIMEOUT_MS, UDP_TRACKER_PROTOCOL_ID, UDP_TRACKER_TRIES } from '../constants.js'
import { AbortError, TrackerError } from '../errors.js'
import { randomBytes } from '../util/bytes.js'
import { decodeCompactPeers, intervalMs, type AnnounceRequest, type AnnounceResult } from './http-tracker.js'

const ACTION_CONNECT = 0
const ACTION_ANNOUNCE = 1
const ACTION_ERROR = 3
const EVENTS = { completed: 1, started: 2, stopped: 3 } as const

export async function announceUdp (url: string, req: AnnounceRequest): Promise<AnnounceResult> {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new TrackerError(`tracker ${url}: not a valid URL`)
  }
  const host = parsed.hostname.replace(/^\[|\]$/g, '')
  const port = Number(parsed.port)
  if (!Number.isInteger(port) || port <= 0) throw new TrackerError(`tracker ${url}: a udp:// tracker needs a port`)
  const socket = createSocket(isIP(host) === 6 ? 'udp6' : 'udp4')
  socket.on('error', () => {}) // send errors reject the exchange below
  try {
    const connect = Buffer.alloc(16)
    connect.writeBigUInt64BE(UDP_TRACKER_PROTOCOL_ID, 0)
    connect.writeUInt32BE(ACTION_CONNECT, 8)
    const connected = await exchange(socket, host, port, connect, 12, url, req.signal)
    if (connected.length < 16) throw new TrackerError(`tracker ${url}: short connect answer`)
    const connectionId = connected.readBigUInt64BE(8)

    const announce = Buffer.alloc(98)
    announce.writeBigUInt64BE(connectionId, 0)
    announce.writeUInt32BE(ACTION_ANNOUNCE, 8)
    announce.set(req.infoHash, 16)
    announce.set(req.peerId, 36)
    announce.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(req.downloaded))), 56)
    announce.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(req.left))), 64)
    announce.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(req.uploaded))), 72)
    announce.writeUInt32BE(req.event !== undefined ? EVENTS[req.event] : 0, 80)
    announce.writeUInt32BE(0, 84)
    announce.writeUInt32BE(req.key >>> 0, 88)
    announce.writeInt32BE(req.numwant, 92)
    announce.writeUInt16BE(req.port, 96)
    const answer = await exchange(socket, host, port, announce, 12, url, req.signal)
    if (answer.length < 20) throw new TrackerError(`tracker ${url}: short announce answer`)
    return { intervalMs: intervalMs(answer.readUInt32BE(8)), peers: decodeCompactPeers(answer.subarray(20), isIP(host) === 6 ? 16 : 4) }
  } finally {
    socket.close()
  }
}

/**
 * Sends `request` with a fresh transaction id (written at `tidOffset`) and resolves with the answer that carries it;
 * retransmits within the time allowed; an error answer (action 3) is a TrackerError with the tracker's message.
 */
async function exchange (socket: Socket, host: string, port: number, request: Buffer, tidOffset: number, url: string, signal?: AbortSignal): Promise<Buffer> {
  const tid = Buffer.from(randomBytes(4))
  tid.copy(request, tidOffset)
  const expected = tid.readUInt32BE(0)
  return await new Promise<Buffer>((resolve, reject) => {
    let tries = 0
    const send = (): void => {
      tries++
      socket.send(request, port, host, (err) => { if (err !== null && err !== undefined) finish(new TrackerError(`tracker ${url}: ${err.message}`)) })
    }
    const retry = setInterval(() => { if (tries < UDP_TRACKER_TRIES) send() }, TRACKER_REQUEST_TIMEOUT_MS / UDP_TRACKER_TRIES)
    const deadline = setTimeout(() => finish(new TrackerError(`tracker ${url}: no answer in time`)), TRACKER_REQUEST_TIMEOUT_MS)
    const onAbort = (): void => finish(new AbortError())
    signal?.addEventListener('abort', onAbort, { once: true })
    const onMessage = (msg: Buffer): void => {
      if (msg.length < 8 || msg.readUInt32BE(4) !== expected) return
      const action = msg.readUInt32BE(0)
      if (action === ACTION_ERROR) finish(new TrackerError(`tracker ${url}: ${msg.subarray(8, 208).toString('utf8')}`))
      else finish(undefined, msg)
    }
    function finish (err: Error | undefined, msg?: Buffer): void {
      clearInterval(retry)
      clearTimeout(deadline)
      signal?.removeEventListener('abort', onAbort)
      socket.off('message', onMessage)
      if (err !== undefined) reject(err)
      else resolve(msg!)
    }
    socket.on('message', onMessage)
    if (signal?.aborted === true) onAbort()
    else send()
  })
}
