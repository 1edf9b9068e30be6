/**
 * The torrent's serving hooks: what Torrent does with the choker, the uploader and the BEP 9 exchange (upload slots
 * and their choke/unchoke messages, answering `request` and `cancel`, `interested` and `not-interested`, `ut_metadata`
 * messages), kept here rather than in engine/torrent.ts so that a torrent that serves later (TorrentInit.serveLater: a
 * site's own loader) carries none of it before its first site byte: Torrent.serve() makes one, and until then the
 * torrent is leech-only (every peer choked, their requests and interest ignored, no `ut_metadata` offered).
 */
import { Choker, newcomerTest, type ChokeDecision } from './choker.js'
import { MetadataExchange } from './metadata-exchange.js'
import type { Metainfo } from './metainfo/index.js'
import type { PieceStore } from './storage/index.js'
import type { Spread } from './spread.js'
import type { Bitfield } from './bitfield.js'
import { Uploader } from './upload.js'
import type { Message } from './wire/messages.js'
import type { Peer } from './wire/peer.js'

/** Defined true in every browser build (scripts/build-browser.mjs); see engine/torrent.ts. */
declare const PEERSITE_BROWSER: boolean | undefined

/** What the serving side reads of its torrent (Torrent's own state, and its private parts as functions). */
export interface ServingHost {
  readonly torrent: {
    readonly metainfo: Metainfo | undefined
    readonly store: PieceStore | undefined
    readonly have: Bitfield | undefined
    readonly peers: ReadonlySet<Peer>
    readonly done: boolean
    readonly destroyed: boolean
    readonly infoHashBytes: Uint8Array
    /** A stored piece the uploader could not read: no longer held, fetched again. */
    forgetPiece: (index: number) => Promise<void>
  }
  /** The origin's spread (Node only: TorrentInit.spread). */
  readonly spread?: Spread<Peer> | undefined
  /** A verified piece held in memory (Downloader.readable). */
  readable: (index: number) => Uint8Array | undefined
  /** Bytes of blocks sent (the torrent's counters). */
  uploaded: (bytes: number) => void
  warn: (peer: Peer, err: Error) => void
  ban: (peer: Peer, reason: Error) => void
  /** The info dictionary's bytes, fetched from peers (BEP 9). */
  onMetadata: (info: Uint8Array) => void
  writeExtendedHandshake: (peer: Peer) => void
}

export class ServingSide {
  readonly #host: ServingHost
  /** Upload slots (engine/choker.ts decides; #choke() writes its decisions). */
  readonly #choker: Choker<Peer>
  readonly metadata: MetadataExchange
  #uploader: Uploader | undefined

  constructor (host: ServingHost) {
    this.#host = host
    const torrent = host.torrent
    // The origin's offload is per piece (engine/spread.ts), not per peer: a newcomer is unchoked at once and gets
    // at once what nobody else has (its first page, when it is the first visitor), which the choker's deferral of
    // newcomers (ChokerInit.seedDeferMs) would delay. At every peer, a newcomer finding all slots taken gets one of
    // its own for its first page (ChokerInit.newcomer).
    this.#choker = new Choker<Peer>({ newcomer: newcomerTest(host.spread, () => torrent.metainfo?.pieceLength) })
    this.metadata = new MetadataExchange({
      infoHash: torrent.infoHashBytes,
      info: () => torrent.metainfo?.info,
      onMetadata: host.onMetadata,
      warn: host.warn,
      ban: host.ban
    })
    this.startUploader()
  }

  /**
   * Takes the peers already connected as if they had just arrived (serve() after the torrent started): a slot if
   * they want one, and an extended handshake that now offers `ut_metadata`.
   */
  adopt (): void {
    for (const peer of this.#host.torrent.peers) {
      if (!peer.receivedHandshake || peer.destroyed) continue
      this.onHandshake(peer)
      if (peer.supportsExtensions) this.#host.writeExtendedHandshake(peer)
      if (peer.extended !== undefined) this.metadata.onExtendedHandshake(peer)
      if (peer.peerInterested) this.#choke((c, now) => c.interested(peer, now))
    }
  }

  /** Once the metainfo and the store are known. */
  startUploader (): void {
    const { metainfo, store, have } = this.#host.torrent
    if (metainfo === undefined || store === undefined || have === undefined || this.#uploader !== undefined) return
    this.#uploader = new Uploader({
      metainfo,
      store,
      have,
      readable: this.#host.readable,
      onUploaded: (peer, bytes) => {
        this.#choker.uploaded(peer, bytes)
        this.#host.uploaded(bytes)
      },
      warn: this.#host.warn,
      // Not with a store that cannot delete (Node's files: Torrent's reader says why): the failure is a warning.
      ...(store.delete === undefined ? {} : { lost: (index: number) => { void this.#host.torrent.forgetPiece(index) } }),
      ...(typeof PEERSITE_BROWSER === 'undefined' && this.#host.spread !== undefined ? { spread: this.#host.spread } : {})
    })
  }

  /** A peer finished its handshake. */
  onHandshake (peer: Peer): void {
    this.#choker.add(peer, Date.now())
  }

  /** The messages the serving side owns: interest, and requests for blocks. */
  onMessage (peer: Peer, message: Message): void {
    switch (message.type) {
      case 'interested':
        this.#choke((choker, now) => choker.interested(peer, now))
        return
      case 'not-interested':
        this.#choke((choker, now) => choker.notInterested(peer, now))
        return
      case 'request':
        this.#uploader?.onRequest(peer, message)
        return
      case 'cancel':
        this.#uploader?.onCancel(peer, message)
    }
  }

  /** Bytes of blocks received from `peer` (the choker ranks a leecher's slots by them). */
  onDownloaded (peer: Peer, bytes: number): void {
    this.#choker.downloaded(peer, bytes)
  }

  onPeerClose (peer: Peer): void {
    this.metadata.removePeer(peer)
    this.#uploader?.removePeer(peer)
    this.#choke((choker, now) => choker.remove(peer, now))
  }

  tick (now: number): void {
    this.#choke((choker) => choker.tick(now))
  }

  /** A stored piece turned out bad: no longer served (Torrent.forgetPiece). */
  forget (index: number): void {
    this.#uploader?.forget(index)
  }

  destroy (): void {
    this.metadata.destroy()
    this.#uploader?.clear()
  }

  /** Runs one choker event and writes its decisions; BEP 3: a choke discards the peer's queued requests. */
  #choke (event: (choker: Choker<Peer>, now: number) => Array<ChokeDecision<Peer>>): void {
    const torrent = this.#host.torrent
    if (torrent.destroyed) return
    this.#choker.setSeeding(torrent.done)
    for (const { peer, choke } of event(this.#choker, Date.now())) {
      if (peer.destroyed) continue
      if (choke) {
        peer.writeChoke()
        this.#uploader?.onChoked(peer)
      } else {
        peer.writeUnchoke()
      }
    }
  }
}
