/**
 * A hostile peer for BEP 9 tests, written over the wire codec alone (no engine code decides what it sends): it
 * handshakes, announces a `metadata_size` in its extended handshake, and answers every ut_metadata request with
 * bytes that are not the torrent's info dictionary, forever:
 * - 'wrong-size': a size that is not the real one (the real size + 1000), and random bytes of that size;
 * - 'garbage': the real size, and random bytes of it.
 * It works over any Connection: the in-memory pair in unit tests, real WebRTC through a tracker (startMetadataLiar).
 */
import { randomBytes } from 'node:crypto'
import { TrackerDiscovery } from '../../engine/discovery/tracker.js'
import { decodeMetadataMessage, encodeMetadataData, metadataPiece } from '../../engine/extensions/ut_metadata.js'
import type { Connection } from '../../engine/transport/index.js'
import { encodeHandshake, encodeMessage, WireDecoder } from '../../engine/wire/codec.js'
import { decodeExtendedHandshake, encodeExtendedHandshake } from '../../engine/wire/extended.js'
import { nodeWrtc, rtcConfig } from './webrtc.js'

export type MetadataLie = 'wrong-size' | 'garbage'

export interface MetadataLiarInit {
  infoHash: Uint8Array
  /** The real info dictionary's size. */
  realSize: number
  lie: MetadataLie
  peerId?: Uint8Array
}

/** The id we ask the other side to use for ut_metadata messages sent to us (any 1..255 works). */
const OUR_UT_METADATA_ID = 3

export class MetadataLiar {
  readonly peerId: Uint8Array
  readonly size: number
  /** The bytes it serves as "the metadata": random, generated once. */
  readonly fake: Uint8Array
  /** Metadata requests it has answered, over all connections. */
  answered = 0
  /** Connections that were closed (by the other side or by failure). */
  closed = 0
  readonly connections = new Set<Connection>()
  readonly #infoHash: Uint8Array

  constructor (init: MetadataLiarInit) {
    this.#infoHash = init.infoHash
    this.peerId = init.peerId ?? new Uint8Array(randomBytes(20))
    this.size = init.lie === 'wrong-size' ? init.realSize + 1000 : init.realSize
    this.fake = new Uint8Array(randomBytes(this.size))
  }

  /** Speaks the lie over an open connection until it closes. */
  attach (conn: Connection): void {
    this.connections.add(conn)
    const decoder = new WireDecoder({ maxMessageLength: 1 << 20 })
    let theirUtMetadata: number | undefined
    conn.on('close', () => {
      if (this.connections.delete(conn)) this.closed++
    })
    conn.on('error', () => conn.close())
    conn.on('data', (chunk) => {
      let items
      try {
        items = decoder.push(chunk)
      } catch {
        conn.close()
        return
      }
      for (const item of items) {
        if (item.kind === 'handshake') {
          conn.send(encodeMessage({
            type: 'extended',
            id: 0,
            payload: encodeExtendedHandshake({ m: { ut_metadata: OUR_UT_METADATA_ID }, metadataSize: this.size, v: 'metadata-liar' })
          }))
          continue
        }
        const m = item.message
        if (m.type !== 'extended') continue
        if (m.id === 0) {
          theirUtMetadata = decodeExtendedHandshake(m.payload).m.ut_metadata
          continue
        }
        if (m.id !== OUR_UT_METADATA_ID || theirUtMetadata === undefined) continue
        const msg = decodeMetadataMessage(m.payload)
        if (msg.msgType !== 'request') continue
        const piece = metadataPiece(this.fake, msg.piece)
        if (piece === undefined) continue
        this.answered++
        conn.send(encodeMessage({ type: 'extended', id: theirUtMetadata, payload: encodeMetadataData(msg.piece, this.size, piece) }))
      }
    })
    conn.send(encodeHandshake({ infoHash: this.#infoHash, peerId: this.peerId }))
  }
}

export interface RunningLiar {
  readonly liar: MetadataLiar
  close (): Promise<void>
}

/** A MetadataLiar on real WebRTC: it announces to the trackers and lies to everyone who connects. */
export async function startMetadataLiar (init: MetadataLiarInit & { announce: string[] }): Promise<RunningLiar> {
  const liar = new MetadataLiar(init)
  const discovery = new TrackerDiscovery({
    infoHash: init.infoHash,
    peerId: liar.peerId,
    announce: init.announce,
    wrtc: nodeWrtc,
    rtcConfig,
    announceIntervalMs: 2_000
  })
  discovery.on('connection', (conn) => liar.attach(conn))
  discovery.on('warning', () => {})
  const announced = new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 5_000)
    discovery.once('announced', () => { clearTimeout(timer); resolve() })
  })
  // A seeder as far as the tracker knows: leechers are sent its offers.
  discovery.start({ uploaded: 0, downloaded: 0, left: 0 })
  await announced
  return {
    liar,
    close: async () => {
      for (const conn of liar.connections) conn.close()
      await discovery.destroy()
    }
  }
}
