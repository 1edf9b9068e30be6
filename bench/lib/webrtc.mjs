/**
 * A connected pair of node-datachannel peer connections (the standards polyfill, no STUN), signalled in
 * process with trickle ICE. Benchmarks measure transfer, not setup, so setup happens before timing starts.
 */
import { RTCPeerConnection } from 'node-datachannel/polyfill'

export const rtcConfig = { iceServers: [] }

/**
 * Open one data channel from `a` to `b`. Returns both ends and close(). libdatachannel now and then fails to apply
 * the answer ("Got a remote candidate without ICE transport", about one run in five of get-throughput): such a
 * pair is closed and set up again, at most three times.
 * @param {{ label?: string, timeoutMs?: number }} [opts]
 */
export async function connectedChannelPair (opts = {}) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await channelPair(opts)
    } catch (err) {
      if (attempt >= 3) throw err
      process.stderr.write(`bench: raw data channel setup failed (${err.message}); again\n`)
    }
  }
}

async function channelPair (opts) {
  const a = new RTCPeerConnection(rtcConfig)
  const b = new RTCPeerConnection(rtcConfig)
  const close = () => { try { a.close() } catch {} try { b.close() } catch {} }
  try {
    a.onicecandidate = (e) => { if (e.candidate) b.addIceCandidate(e.candidate).catch(() => {}) }
    b.onicecandidate = (e) => { if (e.candidate) a.addIceCandidate(e.candidate).catch(() => {}) }
    const remote = new Promise((resolve) => {
      b.ondatachannel = (e) => {
        const ch = e.channel
        if (ch.readyState === 'open') resolve(ch)
        else ch.addEventListener('open', () => resolve(ch), { once: true })
      }
    })
    const local = a.createDataChannel(opts.label ?? 'bench')
    const localOpen = new Promise((resolve) => local.addEventListener('open', () => resolve(), { once: true }))
    await a.setLocalDescription(await a.createOffer())
    await b.setRemoteDescription(a.localDescription)
    await b.setLocalDescription(await b.createAnswer())
    await a.setRemoteDescription(b.localDescription)
    const timeoutMs = opts.timeoutMs ?? 20_000
    let timer
    const [, far] = await Promise.race([
      Promise.all([localOpen, remote]),
      new Promise((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`data channel did not open within ${timeoutMs} ms`)), timeoutMs)
      })
    ]).finally(() => clearTimeout(timer))
    local.binaryType = 'arraybuffer'
    far.binaryType = 'arraybuffer'
    return { a, b, sender: local, receiver: far, close }
  } catch (err) {
    close()
    throw err
  }
}

/** How the raw ceilings are measured (ENVIRONMENT.md): 16 KiB messages, at most 4 MiB queued, refilled below 1 MiB. */
export const RAW_MESSAGE_SIZE = 16 * 1024
export const RAW_MAX_BUFFERED = 4 * 1024 * 1024
/** Refill when the send buffer drains below this: low enough to batch, high enough to never run dry. */
export const RAW_LOW_WATER = 1024 * 1024

/**
 * Sends `bytes` of `message`-sized chunks over `channel` as fast as it takes them: the send buffer is kept under
 * `maxBuffered` and refilled on `bufferedamountlow`. Returns at once; the receiver tells when all arrived.
 */
export function pumpChannel (channel, bytes, message, maxBuffered = RAW_MAX_BUFFERED) {
  let sent = 0
  const pump = () => {
    while (sent < bytes && channel.bufferedAmount < maxBuffered) {
      const n = Math.min(message.length, bytes - sent)
      channel.send(n === message.length ? message : message.subarray(0, n))
      sent += n
    }
  }
  channel.bufferedAmountLowThreshold = RAW_LOW_WATER
  channel.onbufferedamountlow = pump
  pump()
}
