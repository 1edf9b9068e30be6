/**
 * Hostile peers for tests and benchmarks, written over the wire codec (engine/wire/codec.ts), not the engine: they
 * join a swarm through a real WebSocket tracker and real WebRTC (node-datachannel, the engine's dependency-free
 * tracker client), then misbehave in one of these modes:
 *
 * - `silent`: claims every piece, unchokes, accepts requests and never sends a block.
 * - `corrupt`: claims every piece, unchokes, and answers every request at once with bytes of the right length
 *   that are wrong.
 *
 * A mode is a Behaviour: what to send after the handshake and how to answer each message. A new mode (a metadata
 * liar answering ut_metadata with a wrong size or garbage) is one more Behaviour in BEHAVIOURS: its start() sends a
 * BEP 10 extended handshake of its own (wire.send({ type: 'extended', id: 0, ... })) and its onMessage() answers the
 * `extended` messages (our handshake already sets the extension bit).
 *
 * Each hostile peer announces to the tracker under its own peer id, offers itself to the swarm, and leaves the
 * tracker once its data channel is open (so the tracker keeps sending later peers, such as the honest seeder, to
 * the visitor rather than to it). With `reconnect`, a peer whose connection is closed (banned) comes back under a
 * new peer id, `reconnect` times; with a `certificate` it keeps the same DTLS certificate across reconnects (as a
 * client that reuses its RTCCertificate would), otherwise each connection has a new one.
 */
// First: the end-of-candidates event node-datachannel's polyfill lacks (engine/transport/node-wrtc.ts).
import '../../engine/transport/node-wrtc.js'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { RTCPeerConnection } from 'node-datachannel/polyfill'
import { WebSocket } from 'ws'
import { fullBitfield } from '../../engine/bitfield.js'
import { MAX_FIXED_MESSAGE_LENGTH, maxMessageLength } from '../../engine/constants.js'
import { WebSocketTrackerDiscovery, type WebSocketConstructor } from '../../engine/discovery/websocket-tracker.js'
import type { Metainfo } from '../../engine/metainfo/index.js'
import type { Connection } from '../../engine/transport/index.js'
import type { RTCPeerConnectionConstructor } from '../../engine/transport/webrtc.js'
import { fromHex, randomBytes, toHex, utf8 } from '../../engine/util/bytes.js'
import { encodeHandshake, encodeMessage, setExtensionBit, WireDecoder } from '../../engine/wire/codec.js'
import type { Message } from '../../engine/wire/messages.js'

export type HostileMode = 'silent' | 'corrupt'

/** One open wire connection as a behaviour sees it. */
export interface HostileWire {
  readonly metainfo: Metainfo
  /** Delay before answering a request (HostilePeersInit.answerDelayMs). */
  readonly answerDelayMs: number
  send (message: Message): void
  close (): void
}

export interface Behaviour {
  /** Sent right after our handshake (BEP 3: the bitfield comes first). */
  start (wire: HostileWire): void
  onMessage (wire: HostileWire, message: Message): void
}

const claimEverything = (wire: HostileWire): void => {
  wire.send({ type: 'bitfield', bitfield: fullBitfield(wire.metainfo.pieceCount).bytes })
  wire.send({ type: 'unchoke' })
}

export const BEHAVIOURS: Record<HostileMode, Behaviour> = {
  silent: {
    start: claimEverything,
    onMessage: () => {}
  },
  corrupt: {
    start: claimEverything,
    onMessage: (wire, message) => {
      if (message.type !== 'request') return
      const answer = (): void => wire.send({ type: 'piece', index: message.index, begin: message.begin, block: randomBytes(message.length) })
      if (wire.answerDelayMs > 0) setTimeout(answer, wire.answerDelayMs)
      else answer()
    }
  }
}

export interface HostilePeersInit {
  mode: HostileMode
  metainfo: Metainfo
  /** The tracker's ws:// URL. */
  tracker: string
  /** How many hostile peers (each its own peer id and connection). */
  count?: number
  rtcConfig?: RTCConfiguration
  /** Times a peer comes back under a new peer id after its connection was closed. Default 0. */
  reconnect?: number
  /** Keep one DTLS certificate for every connection of each peer (generated with openssl). */
  certificate?: boolean
  /** Peers that announce at once (each leaves the tracker once connected). Default 5. */
  batch?: number
  /**
   * A corrupt peer answers each request this long after it arrived (default 0): slower than an honest seeder, so
   * that both send blocks of the same pieces (at full speed it would fill whole pieces alone before a seeder that
   * starts later gets a request).
   */
  answerDelayMs?: number
}

export interface HostilePeers {
  /** Data channels opened so far (reconnects included). */
  readonly connections: number
  /** Connections currently open. */
  readonly open: number
  /** Block requests received, all connections together. */
  readonly requests: number
  /** Peer ids used so far (hex). */
  readonly peerIds: readonly string[]
  /** Resolves once `n` connections are open at the same time (or rejects after `timeoutMs`). */
  waitOpen (n: number, timeoutMs?: number): Promise<void>
  close (): Promise<void>
}

const HOSTILE_PREFIX = '-XX0001-'

function hostilePeerId (): Uint8Array {
  const id = randomBytes(20)
  id.set(utf8.encode(HOSTILE_PREFIX))
  return id
}

/** A self-signed ECDSA certificate and key in PEM files (libdatachannel's certificatePemFile / keyPemFile). */
function makeCertificate (): { certificatePemFile: string, keyPemFile: string, cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'hostile-cert-'))
  const certificatePemFile = join(dir, 'cert.pem')
  const keyPemFile = join(dir, 'key.pem')
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-subj', '/CN=hostile', '-days', '1', '-keyout', keyPemFile, '-out', certificatePemFile], { stdio: 'ignore' })
  return { certificatePemFile, keyPemFile, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

/**
 * Starts `count` hostile peers and resolves once each has offered itself through the tracker (not necessarily
 * connected: use waitOpen). Peers announce `batch` at a time and leave the tracker once their channel is open.
 */
export async function startHostilePeers (init: HostilePeersInit): Promise<HostilePeers> {
  const behaviour = BEHAVIOURS[init.mode]
  const count = init.count ?? 1
  const batch = init.batch ?? 5
  const ownIds = new Set<string>()
  const peerIds: string[] = []
  const discoveries = new Set<WebSocketTrackerDiscovery>()
  const wires = new Set<Connection>()
  const certificates: Array<ReturnType<typeof makeCertificate>> = []
  let connections = 0
  let requests = 0
  let closed = false
  const openListeners = new Set<() => void>()

  const connectOnce = async (rtcConfig: RTCConfiguration, remainingReconnects: number): Promise<void> => {
    if (closed) return
    const peerId = hostilePeerId()
    const hex = toHex(peerId)
    ownIds.add(hex)
    peerIds.push(hex)
    await new Promise<void>((resolve) => {
      const discovery = new WebSocketTrackerDiscovery({
        infoHash: fromHex(init.metainfo.infoHash),
        peerId,
        announce: [init.tracker],
        rtcConfig,
        WebSocket: WebSocket as unknown as WebSocketConstructor,
        RTCPeerConnection: RTCPeerConnection as unknown as RTCPeerConnectionConstructor,
        numwant: 10,
        announceIntervalMs: 1000,
        // Never answer another hostile peer's offer.
        wantsPeer: (id) => !ownIds.has(id)
      })
      discoveries.add(discovery)
      discovery.on('warning', () => {})
      discovery.once('connection', (connection) => {
        // Leave the tracker: later peers are offered to the visitor, not to us.
        discoveries.delete(discovery)
        void discovery.destroy()
        connections++
        serve(connection, peerId, () => {
          if (remainingReconnects > 0 && !closed) void connectOnce(rtcConfig, remainingReconnects - 1)
        })
        for (const l of openListeners) l()
        resolve()
      })
      discovery.start({ uploaded: 0, downloaded: 0, left: 0 })
      // Announce the next batch without waiting for a slow connection.
      setTimeout(resolve, 3000)
    })
  }

  const serve = (connection: Connection, peerId: Uint8Array, onClose: () => void): void => {
    wires.add(connection)
    const decoder = new WireDecoder({ maxMessageLength: Math.max(MAX_FIXED_MESSAGE_LENGTH, maxMessageLength(init.metainfo.pieceCount)) })
    const wire: HostileWire = {
      metainfo: init.metainfo,
      answerDelayMs: init.answerDelayMs ?? 0,
      send: (message) => { if (!connection.closed) connection.send(encodeMessage(message)) },
      close: () => connection.close()
    }
    let started = false
    connection.on('data', (chunk) => {
      let items
      try {
        items = decoder.push(chunk)
      } catch {
        connection.close()
        return
      }
      for (const item of items) {
        if (item.kind === 'handshake') {
          if (started) continue
          started = true
          connection.send(encodeHandshake({ infoHash: fromHex(init.metainfo.infoHash), peerId, reserved: setExtensionBit(new Uint8Array(8)) }))
          behaviour.start(wire)
        } else {
          if (item.message.type === 'request') requests++
          behaviour.onMessage(wire, item.message)
        }
      }
    })
    connection.on('close', () => {
      wires.delete(connection)
      onClose()
    })
    connection.on('error', () => {})
  }

  const configFor = (): RTCConfiguration => {
    const base: RTCConfiguration = init.rtcConfig ?? { iceServers: [] }
    if (init.certificate !== true) return base
    const cert = makeCertificate()
    certificates.push(cert)
    // node-datachannel passes unknown configuration fields on to libdatachannel's PeerConnection.
    return { ...base, certificatePemFile: cert.certificatePemFile, keyPemFile: cert.keyPemFile } as RTCConfiguration
  }

  for (let i = 0; i < count; i += batch) {
    const n = Math.min(batch, count - i)
    await Promise.all(Array.from({ length: n }, async () => await connectOnce(configFor(), init.reconnect ?? 0)))
  }

  return {
    get connections () { return connections },
    get open () { return wires.size },
    get requests () { return requests },
    get peerIds () { return peerIds },
    waitOpen: async (n, timeoutMs = 30_000) => {
      if (wires.size >= n) return
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          openListeners.delete(check)
          reject(new Error(`only ${wires.size} of ${n} hostile connections open after ${timeoutMs} ms`))
        }, timeoutMs)
        const check = (): void => {
          if (wires.size < n) return
          clearTimeout(timer)
          openListeners.delete(check)
          resolve()
        }
        openListeners.add(check)
      })
    },
    close: async () => {
      closed = true
      for (const d of discoveries) await d.destroy()
      for (const w of [...wires]) w.close()
      for (const c of certificates) c.cleanup()
    }
  }
}
