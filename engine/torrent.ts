/**
 * The orchestrator of one torrent: takes connections from discovery, runs the handshake, and routes each peer's
 * messages to the parts that own them (PeerList, Downloader, Uploader, MetadataExchange, Reader). Decisions live in
 * those parts, the peer policy and the picker; this file only glues.
 */
import { Bitfield } from './bitfield.js'
import { CHECK_ARGS, CLIENT_NAME, EARLY_HAVES_MAX, MAX_PEERS, OUR_REQQ, SEED_LINKS_DROPPED_FROM, PEER_ID_PREFIX, maxMessageLength } from './constants.js'
import { AbortError, InvalidTorrentError, ProtocolError } from './errors.js'
import type { Discovery, DiscoveryInit } from './discovery/index.js'
import { Downloader } from './download.js'
import { parseInfoDictionary, pieceLengthAt, type Metainfo } from './metainfo/index.js'
import { PeerList } from './peer-list.js'
import { PeerPolicy } from './peer-policy.js'
import { Reader } from './reader.js'
import type { PieceStore } from './storage/index.js'
import type { Connection } from './transport/index.js'
import type { Spread } from './spread.js'
import { Emitter } from './util/emitter.js'
import { fromHex, randomBytes, toHex, utf8 } from './util/bytes.js'
import { RateMeter } from './util/rate.js'
import { LOCAL_EXTENSION_IDS, Peer } from './wire/peer.js'
import type { Message } from './wire/messages.js'
import type { PointerExchange } from './pointer-exchange.js'
import * as servingParts from './serving.js'
import type { ServingSide } from './serving-side.js'

/** The serving side's code (engine/serving.ts), as Torrent.serve takes it. */
export type ServingParts = typeof servingParts
/**
 * Defined true by scripts/build-browser.mjs for a site's own loader (peersite.js), which brings the serving side
 * after the first site byte (TorrentInit.serveLater): the constructor's eager branch is then dead code, and
 * engine/serving.ts is left out of the bundle. Undefined everywhere else.
 */
declare const PEERSITE_SERVE_LATER: boolean | undefined
/** Defined false for a plain site's loader (peersite.js), true for a keyed one's (peersite-keyed.js); undefined elsewhere. */
declare const PEERSITE_KEYED: boolean | undefined
/**
 * A plain site's own loader (PEERSITE_KEYED false, PEERSITE_SERVE_LATER true) always starts its torrent with the
 * metainfo (site.torrent, or the sectioned index's stand-in: loader/lazy-metainfo.ts), never from peers: the paths
 * that wait for the info dictionary (BEP 9) and keep what peers said before it are dead code there, and the build
 * leaves them out (the test is spelt out at each use: esbuild folds the defines there, not through a module
 * constant). A keyed loader fetches a newer version's metadata (loader/follow.ts) and keeps them, like Node and the
 * generic loader.
 */
/**
 * Defined true in every browser build (scripts/build-browser.mjs): the origin's spread, a mirror's keepSeeds and PEX
 * (TorrentInit) are Node's only, so their branches are dead code there (spelt out at each use, like the others).
 */
declare const PEERSITE_BROWSER: boolean | undefined
/**
 * Defined true for a plain site's loader (peersite-plain.js: no web seeds, scripts/build-browser.mjs), false for the
 * other browser builds, undefined elsewhere: the web-seed hooks (offerPiece, `webSeeds`) are dead code there.
 */
declare const PEERSITE_PLAIN: boolean | undefined

export interface TorrentComponents {
  /** Makes the store once the metainfo is known. */
  createStore: (metainfo: Metainfo) => PieceStore
  /** Optional: peers can also be added by hand with addConnection(). */
  createDiscovery?: (init: DiscoveryInit) => Discovery
  /**
   * Optional: the SHA-1 that verifies each downloaded piece, where the platform has a cheaper one than WebCrypto's
   * digest. Node's (node:crypto, synchronous: cli/lib/swarm.ts nodeSha1) hashes the piece where it lies, where
   * crypto.subtle first copies it for a thread-pool job: that copy, into fresh memory, cost a Node `get` more main
   * thread than the hashing itself. Browser builds leave it out.
   */
  sha1?: (data: Uint8Array) => Uint8Array
}

export interface TorrentInit {
  /** 40 hex digits or 20 bytes. */
  infoHash: string | Uint8Array
  /** Known up front when seeding or given a .torrent; otherwise fetched from peers (BEP 9). */
  metainfo?: Metainfo
  /** Pieces the store already holds, verified (a seeder: all of them). */
  have?: Bitfield
  peerId?: Uint8Array
  maxPeers?: number
  /**
   * The publisher's own seeder (cli/lib/swarm.ts) passes `new Spread()`: it then holds back requests for pieces that
   * other peers can serve (engine/spread.ts), so its upload does not grow with the audience. Visitors leave it off
   * (and the browser bundle without it).
   */
  spread?: Spread<Peer>
  /**
   * Keep connections to other complete seeds (a mirror, `peersite mirror`): the publisher's seeder (`spread`) counts
   * a connected mirror as a holder of every piece and lets it serve newcomers, which it can only do while the mirror
   * stays connected. Default: two seeds drop each other once half the peer cap is in use (SEED_LINKS_DROPPED_FROM).
   */
  keepSeeds?: boolean
  /** A keyed site's pointer records pass over this swarm too (pointer-exchange.ts); `peersite_pointer` is advertised only then. */
  pointer?: PointerPort
  /**
   * Peer exchange (BEP 11) for peers that can dial addresses (Node over TCP: engine/discovery/pex.ts); `ut_pex` is
   * advertised only then. Browsers cannot dial an address, so they leave it off.
   */
  pex?: PeerExchangeHooks
  /**
   * Serve other peers only once serve() brings the serving side's code (a visitor's loader, after its first site byte:
   * loader/main.ts). Until then every peer stays choked, its requests are ignored (BEP 3: we are choking it) and
   * `ut_metadata` is not offered (BEP 10: the extended handshake is sent again when it is).
   */
  serveLater?: boolean
  /**
   * Where a torrent that serves later gets the serving side's code (engine/serving.ts) if it needs part of it before
   * serve(): smart ban, at the first piece that fails its hash check with blocks from several peers. Default: the
   * module itself (the loader, which leaves it out of its first bundle, passes peersite-later.js's).
   */
  servingCode?: () => Promise<ServingParts>
}

/** What the torrent asks of a peer-exchange component (engine/discovery/pex.ts implements it for TCP). */
export interface PeerExchangeHooks {
  /** Our TCP listening port, sent as BEP 10 `p` in the extended handshake; 0 or undefined when we accept none. */
  readonly listenPort?: number | undefined
  onMessage (peer: Peer, payload: Uint8Array): void
  onPeerClose (peer: Peer): void
  /** Once a second, with every peer: sends what is due (BEP 11 rounds are at most once a minute per peer). */
  tick (peers: ReadonlySet<Peer>, now: number): void
}

/** What the torrent calls of a pointer exchange (PointerExchange, or a stand-in until it has loaded: loader/main.ts). */
export type PointerPort = Pick<PointerExchange<Peer>, 'onExtendedHandshake' | 'onMessage' | 'onPeerClose'>

export type TorrentEvents = {
  metadata: [metainfo: Metainfo]
  /** A piece was verified and stored. */
  verified: [index: number]
  /** Every piece is here. */
  done: []
  /** A peer finished its handshake. */
  peer: [peer: Peer]
  /** Something went wrong with a peer or tracker: logged, never fatal. */
  warning: [err: Error]
  /** A tracker acknowledged our announce. */
  announced: []
  /** A peer was dropped for sending bad data. */
  ban: [peerId: string, reason: Error]
}

export interface TorrentStats {
  peers: number
  uploaded: number
  downloaded: number
  uploadRate: number
  downloadRate: number
  /** Verified bytes held. */
  verified: number
  /** Total bytes; 0 before metadata. */
  length: number
  /** Verified bytes from web seeds (BEP 19). */
  webSeed: number
}

const TICK_MS = 1000

export function createPeerId (): Uint8Array {
  const id = new Uint8Array(20)
  id.set(utf8.encode(PEER_ID_PREFIX))
  id.set(randomBytes(20 - PEER_ID_PREFIX.length), PEER_ID_PREFIX.length)
  return id
}

export class Torrent extends Emitter<TorrentEvents> {
  readonly infoHash: string
  readonly infoHashBytes: Uint8Array
  readonly peerId: Uint8Array
  metainfo: Metainfo | undefined
  store: PieceStore | undefined

  readonly #components: TorrentComponents
  /** Per-peer records and what they decide: snubs, turnover, bans (engine/peer-policy.ts). */
  readonly #policy = new PeerPolicy()
  readonly #peerList: PeerList
  readonly #reader: Reader
  /** The serving side's code (engine/serving.ts): set by serve(), at once unless TorrentInit.serveLater. */
  #serving: ServingParts | undefined
  /** Its hooks (choker, uploader, BEP 9: engine/serving-side.ts), made by serve(); none while leech-only. */
  #side: ServingSide | undefined
  /** TorrentInit.servingCode; none in a build that leaves the module out when none was given (no smart ban then). */
  readonly #servingCode: (() => Promise<ServingParts>) | undefined
  readonly #pointer: PointerPort | undefined
  readonly #pex: PeerExchangeHooks | undefined
  #downloader: Downloader | undefined
  /** The origin seeder's record of who holds which piece, to send each piece once (engine/spread.ts). */
  readonly #spread: Spread<Peer> | undefined
  readonly #keepSeeds: boolean
  readonly #maxPeers: number
  #discovery: Discovery | undefined
  #tick: ReturnType<typeof setInterval> | undefined
  #uploaded = 0
  #downloaded = 0
  #verifiedBytes = 0
  /** Rates are for status lines (the CLI's, cli/lib/status.ts), never for decisions: the browser builds keep none (0). */
  readonly #uploadRate = typeof PEERSITE_BROWSER === 'undefined' ? new RateMeter() : undefined
  readonly #downloadRate = typeof PEERSITE_BROWSER === 'undefined' ? new RateMeter() : undefined
  #done = false
  destroyed = false
  /** BEP 19 web seeds (engine/webseed.ts attaches itself here): told when a reader waits for a piece. */
  webSeeds: { stalled: (index: number, last: number, signal?: AbortSignal) => void, destroy: () => void } | undefined
  /** Bytes web seeds delivered that passed their hash (not in `downloaded`, which counts peers). */
  #fromWebSeeds = 0

  constructor (components: TorrentComponents, init: TorrentInit) {
    super()
    this.#components = components
    this.infoHashBytes = typeof init.infoHash === 'string' ? fromHex(init.infoHash) : init.infoHash
    if (this.infoHashBytes.length !== 20) throw new InvalidTorrentError('an infohash has 20 bytes')
    this.infoHash = toHex(this.infoHashBytes)
    this.peerId = init.peerId ?? createPeerId()
    this.#maxPeers = init.maxPeers ?? MAX_PEERS
    this.#peerList = new PeerList({
      maxPeers: this.#maxPeers,
      ownId: toHex(this.peerId),
      peerPolicy: this.#policy,
      wanting: () => this.metainfo === undefined || !this.#done,
      warn: (peer, err) => this.#warnPeer(peer, err),
      onBan: (id, reason) => this.emit('ban', id, reason)
    })
    this.#reader = new Reader({
      ready: async (signal) => await this.ready(signal),
      downloader: () => this.#downloader,
      store: () => this.store,
      peers: () => this.#peerList.all,
      lost: async (index, err) => {
        // Node's file store deletes nothing: its files are the user's (a seeder's folder, which the engine must not
        // write) or a download's, and a piece it cannot read is an error, as before. Every browser store deletes.
        if (typeof PEERSITE_BROWSER === 'undefined' && this.store?.delete === undefined) throw err
        await this.forgetPiece(index)
      },
      ...(typeof PEERSITE_PLAIN === 'boolean' && PEERSITE_PLAIN ? {} : { stalled: (index, last, signal) => this.webSeeds?.stalled(index, last, signal) })
    })
    this.#spread = init.spread
    this.#keepSeeds = init.keepSeeds === true
    this.#pointer = init.pointer
    this.#pex = init.pex
    if ((typeof PEERSITE_SERVE_LATER === 'undefined' || !PEERSITE_SERVE_LATER) && init.serveLater !== true) this.serve(servingParts)
    this.#servingCode = init.servingCode ?? (typeof PEERSITE_SERVE_LATER === 'undefined' || !PEERSITE_SERVE_LATER ? async () => servingParts : undefined)
    if (init.metainfo !== undefined) {
      if (init.metainfo.infoHash !== this.infoHash) throw new InvalidTorrentError('metainfo does not match the infohash')
      this.#setMetainfo(init.metainfo, init.have)
    }
    this.#tick = setInterval(() => this.#onTick(), TICK_MS)
    if (components.createDiscovery !== undefined) {
      this.#discovery = components.createDiscovery({
        infoHash: this.infoHashBytes,
        peerId: this.peerId,
        wantsPeer: (id) => this.wantsPeer(id)
      })
      this.#discovery.on('connection', (conn) => this.addConnection(conn))
      this.#discovery.on('warning', (err) => this.emit('warning', err))
      this.#discovery.on('announced', () => this.emit('announced'))
      this.#discovery.start(this.#announceStats())
    }
  }

  get have (): Bitfield | undefined { return this.#downloader?.have }
  get done (): boolean { return this.#done }
  get peers (): ReadonlySet<Peer> { return this.#peerList.all }

  stats (): TorrentStats {
    return {
      peers: this.#peerList.connected,
      uploaded: this.#uploaded,
      downloaded: this.#downloaded,
      uploadRate: typeof PEERSITE_BROWSER === 'undefined' ? this.#uploadRate!.rate : 0,
      downloadRate: typeof PEERSITE_BROWSER === 'undefined' ? this.#downloadRate!.rate : 0,
      verified: this.#verifiedBytes,
      length: this.metainfo?.length ?? 0,
      webSeed: this.#fromWebSeeds
    }
  }

  #announceStats (): { uploaded: number, downloaded: number, left: number } {
    const left = this.metainfo === undefined ? Number.MAX_SAFE_INTEGER : this.metainfo.length - this.#verifiedBytes
    return { uploaded: this.#uploaded, downloaded: this.#downloaded, left }
  }

  #setMetainfo (metainfo: Metainfo, have?: Bitfield): void {
    this.metainfo = metainfo
    const store = this.#components.createStore(metainfo)
    this.store = store
    const downloader = new Downloader({
      metainfo,
      store,
      onVerified: (index) => this.#onVerified(index),
      onReadable: (index) => this.#reader.wake(index),
      onAnnounce: (index) => {
        // Everyone learns of the new piece (BEP 3 `have`), seeds too: 9 bytes that tell the publisher's seeder which
        // visitors can serve what (engine/spread.ts), so that it holds back what others can pass on.
        for (const peer of this.#peerList.all) if (peer.receivedHandshake) peer.writeHave(index)
      },
      onDownloaded: (peer, bytes) => {
        this.#side?.onDownloaded(peer, bytes)
        this.#downloaded += bytes
        this.#downloadRate?.add(bytes)
      },
      badData: (key, reason) => {
        if (this.#policy.badPiece(key)) this.#peerList.ban(key, reason)
      },
      warn: (err) => this.emit('warning', err),
      peerByKey: (key) => this.#peerList.byKey(key),
      ...(typeof PEERSITE_BROWSER === 'undefined' && this.#components.sha1 !== undefined ? { sha1: this.#components.sha1 } : {}),
      peerPolicy: this.#policy,
      smartBan: async () => new (this.#serving ?? await this.#servingCode!()).SmartBan()
    }, have)
    this.#downloader = downloader
    for (let i = 0; i < metainfo.pieceCount; i++) if (downloader.have.has(i)) this.#verifiedBytes += pieceLengthAt(metainfo, i)
    this.#side?.startUploader()
    if (downloader.have.complete) this.#done = true
  }

  /**
   * Starts serving other peers with the serving side's code (engine/serving.ts; idempotent). At once unless
   * TorrentInit.serveLater; then peers that are already here are taken as if they had just arrived: they get a slot
   * if they want one, and an extended handshake that now offers `ut_metadata`. The peer list's turnover while seeding
   * (engine/seeding-turnover.ts) starts here too.
   */
  serve (parts: ServingParts): void {
    if (this.#serving !== undefined || this.destroyed) return
    this.#serving = parts
    this.#peerList.seedingTurnover = new parts.SeedingTurnover()
    // And a plain site's loader gets the peers' serving writers (choke, unchoke, pieces, extension messages) now.
    if (typeof PEERSITE_KEYED === 'boolean' && !PEERSITE_KEYED && PEERSITE_SERVE_LATER === true) parts.installServingWrites(Peer)
    const side = this.#side = new parts.ServingSide({
      torrent: this,
      spread: typeof PEERSITE_BROWSER === 'undefined' ? this.#spread : undefined,
      readable: (index) => this.#downloader?.readable(index),
      uploaded: (bytes) => {
        this.#uploaded += bytes
        this.#uploadRate?.add(bytes)
      },
      warn: (peer, err) => this.#warnPeer(peer, err),
      ban: (peer, reason) => this.#peerList.ban(peer.key, reason),
      onMetadata: (info) => { void this.#onMetadataBytes(info) },
      writeExtendedHandshake: (peer) => this.#writeExtendedHandshake(peer)
    })
    side.adopt()
  }

  async #onMetadataBytes (info: Uint8Array): Promise<void> {
    if ((typeof PEERSITE_KEYED === 'boolean' && !PEERSITE_KEYED && PEERSITE_SERVE_LATER === true) || this.metainfo !== undefined || this.destroyed) return
    let metainfo: Metainfo
    try {
      metainfo = await parseInfoDictionary(info)
    } catch (err) {
      this.emit('warning', err as Error)
      return
    }
    if (this.metainfo !== undefined || this.destroyed) return
    this.#setMetainfo(metainfo)
    this.emit('metadata', metainfo)
    for (const peer of this.#peerList.all) {
      if (!peer.receivedHandshake) continue
      peer.setMaxMessageLength(maxMessageLength(metainfo.pieceCount))
      this.#applyPendingHaves(peer)
      // Destroyed for a bitfield or have that does not fit: it left the downloader already, and must not come back.
      if (peer.destroyed) continue
      this.#downloader!.addPeer(peer)
    }
    if (metainfo.length === 0) this.#onDone()
  }

  /**
   * Whether a connection to this peer id (hex) would be taken: not connected already, not banned, not ourselves,
   * and a free slot or a useless peer to turn over (PeerList.wantsPeer).
   */
  wantsPeer (peerIdHex: string): boolean {
    return this.#peerList.wantsPeer(peerIdHex)
  }

  /** Adds a freshly opened connection (from discovery, or by hand in tests). */
  addConnection (connection: Connection): Peer | undefined {
    if (this.destroyed) {
      connection.close()
      return undefined
    }
    const peer = this.#peerList.admit(connection, {
      infoHash: this.infoHashBytes,
      peerId: this.peerId,
      maxMessageLength: maxMessageLength(this.metainfo?.pieceCount ?? 0)
    })
    if (peer === undefined) return undefined
    peer.on('warning', (err) => this.#warnPeer(peer, err))
    peer.on('close', () => this.#onPeerClose(peer))
    peer.on('handshake', () => this.#onHandshake(peer))
    peer.on('extended-handshake', () => {
      this.#side?.metadata.onExtendedHandshake(peer)
      if (typeof PEERSITE_KEYED !== 'boolean' || PEERSITE_KEYED || PEERSITE_SERVE_LATER !== true) this.#pointer?.onExtendedHandshake(peer)
    })
    peer.on('extension', (name, payload) => {
      if (name === 'ut_metadata') this.#side?.metadata.onMessage(peer, payload)
      else if (typeof PEERSITE_KEYED === 'boolean' && !PEERSITE_KEYED && PEERSITE_SERVE_LATER === true) return
      else if (name === 'peersite_pointer') void this.#pointer?.onMessage(peer, payload)
      else if (typeof PEERSITE_BROWSER === 'undefined' && name === 'ut_pex') this.#pex?.onMessage(peer, payload)
    })
    peer.on('message', (message) => this.#onMessage(peer, message))
    peer.writeHandshake()
    return peer
  }

  #onHandshake (peer: Peer): void {
    if (!this.#peerList.onHandshake(peer)) return
    this.#side?.onHandshake(peer)
    const metainfo = this.metainfo
    // BEP 3: the bitfield is "only ever sent as the first message" after the handshake; omitted when empty.
    // (What we hold, and pieces announced on their way into the store: Downloader.announced.)
    const bits = this.#downloader?.announced()
    if (bits !== undefined && bits.count > 0) peer.writeBitfield(bits)
    if (peer.supportsExtensions) this.#writeExtendedHandshake(peer)
    if (metainfo !== undefined) this.#downloader!.addPeer(peer)
    this.emit('peer', peer)
  }

  #writeExtendedHandshake (peer: Peer): void {
    const metainfo = this.metainfo
    const port = typeof PEERSITE_BROWSER === 'undefined' ? this.#pex?.listenPort : undefined
    // `ut_metadata` (BEP 9) once the serving side is here (serve()).
    const metadata = this.#side !== undefined
    peer.writeExtendedHandshake({
      m: {
        ...(metadata ? { ut_metadata: LOCAL_EXTENSION_IDS.ut_metadata } : {}),
        ...((typeof PEERSITE_KEYED !== 'boolean' || PEERSITE_KEYED || PEERSITE_SERVE_LATER !== true) && this.#pointer !== undefined ? { peersite_pointer: LOCAL_EXTENSION_IDS.peersite_pointer } : {}),
        ...(typeof PEERSITE_BROWSER === 'undefined' && this.#pex !== undefined ? { ut_pex: LOCAL_EXTENSION_IDS.ut_pex } : {})
      },
      // An engine started without the info dictionary (a site's sectioned index, loader/lazy-metainfo.ts) has an
      // empty one until site.torrent arrives: nothing to offer (its requests are rejected), nothing to fetch.
      ...(metadata && metainfo !== undefined && metainfo.info.length > 0 ? { metadataSize: metainfo.info.length } : {}),
      ...(port !== undefined && port > 0 ? { p: port } : {}),
      v: CLIENT_NAME,
      reqq: OUR_REQQ
    })
  }

  /** Messages that arrive before we know the piece count are kept (bounded) and applied with the metadata. */
  readonly #pending = new WeakMap<Peer, { bitfield?: Uint8Array, haves: number[] }>()

  #applyPendingHaves (peer: Peer): void {
    if (typeof PEERSITE_KEYED === 'boolean' && !PEERSITE_KEYED && PEERSITE_SERVE_LATER === true) return
    const metainfo = this.metainfo!
    const pending = this.#pending.get(peer)
    this.#pending.delete(peer)
    if (pending === undefined) return
    if (pending.bitfield !== undefined) {
      if (!Bitfield.isValidPayload(metainfo.pieceCount, pending.bitfield)) {
        this.#warnPeer(peer, new ProtocolError('bitfield of the wrong size'))
        peer.destroy()
        return
      }
      peer.has = new Bitfield(metainfo.pieceCount, pending.bitfield)
    }
    for (const index of pending.haves) {
      if (index >= metainfo.pieceCount) {
        this.#warnPeer(peer, new ProtocolError(`have for piece ${index} of ${metainfo.pieceCount}`))
        peer.destroy()
        return
      }
      peer.has ??= new Bitfield(metainfo.pieceCount)
      peer.has.set(index)
    }
  }

  #onMessage (peer: Peer, message: Message): void {
    const metainfo = this.metainfo
    const downloader = this.#downloader
    switch (message.type) {
      case 'bitfield':
        if (metainfo === undefined || downloader === undefined) {
          if (typeof PEERSITE_KEYED !== 'boolean' || PEERSITE_KEYED || PEERSITE_SERVE_LATER !== true) this.#pending.set(peer, { bitfield: message.bitfield, haves: [] })
          return
        }
        if (!Bitfield.isValidPayload(metainfo.pieceCount, message.bitfield)) {
          return this.#protocolViolation(peer, 'bitfield of the wrong size')
        }
        if (peer.has !== undefined) downloader.removePeer(peer)
        peer.has = new Bitfield(metainfo.pieceCount, message.bitfield)
        if (typeof PEERSITE_BROWSER === 'undefined' && this.#spread !== undefined) for (let i = 0; i < metainfo.pieceCount; i++) if (peer.has.has(i)) this.#spread.has(peer, i, Date.now(), true)
        if (this.#dropIfBothSeeds(peer)) return
        downloader.addPeer(peer)
        return
      case 'have':
        if (metainfo === undefined || downloader === undefined) {
          if (typeof PEERSITE_KEYED === 'boolean' && !PEERSITE_KEYED && PEERSITE_SERVE_LATER === true) return
          const pending = this.#pending.get(peer) ?? { haves: [] }
          // Bounded per peer (EARLY_HAVES_MAX): the rest of what it has is in its bitfield.
          if (pending.haves.length < EARLY_HAVES_MAX) pending.haves.push(message.index)
          this.#pending.set(peer, pending)
          return
        }
        if (message.index >= metainfo.pieceCount) return this.#protocolViolation(peer, `have for piece ${message.index}`)
        peer.has ??= new Bitfield(metainfo.pieceCount)
        if (!peer.has.has(message.index)) {
          peer.has.set(message.index)
          if (typeof PEERSITE_BROWSER === 'undefined') this.#spread?.has(peer, message.index, Date.now())
          if (this.#dropIfBothSeeds(peer)) return
          downloader.peerHave(peer, message.index)
        }
        return
      case 'choke':
        downloader?.onChoke(peer)
        return
      case 'unchoke':
        downloader?.fill(peer)
        return
      case 'piece':
        downloader?.onBlock(peer, message.index, message.begin, message.block)
        return
      default:
        // interested, not-interested, request, cancel: the serving side's (ignored while leech-only: every peer is
        // choked, BEP 3); port, unknown: nothing to do over WebRTC (BEP 3: unknown messages are ignored).
        this.#side?.onMessage(peer, message)
    }
  }

  /**
   * Two seeds have nothing to give each other: the connection slot is better spent on a leecher. Except at the
   * origin: a visitor with the whole site is where newcomers' requests go instead of to us (engine/spread.ts counts
   * its copies while it stays connected, and its leaving is how we learn that they are gone); and in a keyed site's
   * swarm, whose links carry newer pointer records (pointer-exchange.ts). Since visitors announce every piece to seeds
   * too, a seed sees a visitor complete: it used to keep such links only because it never learnt it. And at a
   * mirror (`keepSeeds`), so that the publisher keeps seeing it. And only once slots grow scarce (half the cap in
   * use): until then the link costs nothing, and it is what a visitor that got the site from another still shows
   * as its swarm (dropping it at once left a second visitor with no peer the moment it completed).
   */
  #dropIfBothSeeds (peer: Peer): boolean {
    if (!this.#done || peer.has?.complete !== true) return false
    if (typeof PEERSITE_BROWSER === 'undefined' && (this.#spread !== undefined || this.#keepSeeds)) return false
    if ((typeof PEERSITE_KEYED !== 'boolean' || PEERSITE_KEYED || PEERSITE_SERVE_LATER !== true) && this.#pointer !== undefined) return false
    if (this.#peerList.size < this.#maxPeers * SEED_LINKS_DROPPED_FROM) return false
    peer.destroy()
    return true
  }

  #protocolViolation (peer: Peer, message: string): void {
    this.#warnPeer(peer, new ProtocolError(message))
    peer.destroy()
  }

  #onVerified (index: number): void {
    const metainfo = this.metainfo!
    this.#verifiedBytes += pieceLengthAt(metainfo, index)
    this.emit('verified', index)
    this.#reader.wake(index)
    if (this.#downloader!.have.complete) this.#onDone()
    else for (const peer of this.#peerList.all) if (peer.amInterested) this.#downloader!.updateInterest(peer)
  }

  #onDone (): void {
    if (this.#done) return
    this.#done = true
    for (const peer of this.#peerList.all) if (peer.receivedHandshake) peer.writeNotInterested()
    this.#discovery?.complete(this.#announceStats())
    this.emit('done')
  }

  #warnPeer (peer: Peer, err: Error): void {
    const who = peer.remotePeerIdHex ?? peer.connection.remoteAddress
    const wrapped = new Error(`peer ${who}: ${err.message}`, { cause: err })
    this.emit('warning', wrapped)
  }

  #onPeerClose (peer: Peer): void {
    this.#peerList.remove(peer)
    if (typeof PEERSITE_KEYED !== 'boolean' || PEERSITE_KEYED || PEERSITE_SERVE_LATER !== true) this.#pointer?.onPeerClose(peer)
    if (typeof PEERSITE_BROWSER === 'undefined') this.#pex?.onPeerClose(peer)
    this.#side?.onPeerClose(peer)
    if (this.#downloader !== undefined) {
      this.#downloader.removePeer(peer)
      this.#downloader.fillAll(this.#peerList.all)
    }
  }

  #onTick (): void {
    const now = Date.now()
    this.#peerList.tick(now)
    // Request timeouts and snubs (engine/peer-policy.ts).
    this.#downloader?.tick(this.#peerList.all, now)
    // End-game duplicates become due with time, not only when a block arrives (engine/constants.ts).
    this.#downloader?.fillAll(this.#peerList.all)
    this.#side?.tick(now)
    if (typeof PEERSITE_BROWSER === 'undefined') {
      // Runs on what peers told us and on their addresses; in Node an exception out of a timer ends the process.
      try {
        this.#pex?.tick(this.#peerList.all, now)
      } catch (err) {
        this.emit('warning', err as Error)
      }
    }
    this.#discovery?.update(this.#announceStats())
  }

  /**
   * Marks pieces `first`..`last` wanted or not in the background (rarest first); unwanted pieces are fetched only
   * when a reader asks for them (picker.setWanted). Every piece is wanted by default. Needs the metainfo.
   */
  setWanted (first: number, last: number, wanted: boolean): void {
    const downloader = this.#downloader
    if (CHECK_ARGS && downloader === undefined) throw new Error('setWanted needs the metainfo')
    downloader!.picker.setWanted(first, last, wanted)
    if (wanted) downloader!.fillAll(this.#peerList.all)
  }

  /**
   * Pieces `first`..`last` are fetched ahead of the background at `priority` (constants.ts READ_PRIORITY_*), before
   * any reader asks: what a page will need (loader/preload.ts). Returns the release function (idempotent).
   */
  prioritize (first: number, last: number, priority: number): () => void {
    const downloader = this.#downloader
    if (CHECK_ARGS && downloader === undefined) throw new Error('prioritize needs the metainfo')
    const release = downloader!.picker.addPriority(first, last, priority)
    downloader!.fillAll(this.#peerList.all)
    // What a page is about to read: web seeds step in as they would for the reader (engine/webseed.ts).
    if (!(typeof PEERSITE_PLAIN === 'boolean' && PEERSITE_PLAIN)) this.webSeeds?.stalled(first, last)
    return release
  }

  /** Whether piece `index` is verified here: stored, or in memory for a reader. */
  holds (index: number): boolean {
    return this.#downloader?.have.has(index) === true || this.#downloader?.readable(index) !== undefined
  }

  /**
   * A whole piece from a web seed: kept if its SHA-1 matches (like a piece from peers), refused (false) if not.
   * Needs the metainfo.
   */
  async offerPiece (index: number, data: Uint8Array): Promise<boolean> {
    const downloader = this.#downloader
    if ((typeof PEERSITE_PLAIN === 'boolean' && PEERSITE_PLAIN) || downloader === undefined || this.destroyed) return false
    return await downloader.offerPiece(index, data, () => { this.#fromWebSeeds += data.length })
  }

  /** Resolves once the metainfo is known (immediately when it was given); rejects once the torrent is destroyed. */
  async ready (signal?: AbortSignal): Promise<Metainfo> {
    // A plain site's loader has it from the start (see PEERSITE_KEYED above): the wait below is dead code there.
    if (this.metainfo !== undefined || (typeof PEERSITE_KEYED === 'boolean' && !PEERSITE_KEYED && PEERSITE_SERVE_LATER === true)) return this.metainfo!
    if (typeof PEERSITE_BROWSER === 'undefined' && this.destroyed) throw new AbortError('torrent destroyed')
    const wait = new Promise<Metainfo>((resolve, reject) => {
      const off = this.once('metadata', (m) => {
        signal?.removeEventListener('abort', onAbort)
        resolve(m)
      })
      const onAbort = (): void => {
        off()
        reject(new AbortError())
      }
      if (signal?.aborted === true) onAbort()
      else signal?.addEventListener('abort', onAbort, { once: true })
    })
    return await (typeof PEERSITE_BROWSER === 'undefined' ? untilDestroyed(this, wait) : wait)
  }

  /**
   * Reads torrent bytes [offset, offset + length) as they are verified (the service worker and `serve` read files
   * this way); see Reader.read for the window of pieces a reader raises.
   */
  read (offset: number, length: number, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
    return this.#reader.read(offset, length, signal)
  }

  /**
   * A stored piece turned out bad (the service worker hashes every piece it serves, and a script of the origin can
   * rewrite IndexedDB) or could not be read (Reader, Uploader: `lost`): it is no longer held, deleted from the store,
   * and fetched again like any missing piece (a reader waiting for it gets the new copy). Peers were told we have it;
   * until it is back, their requests for it go unanswered (the uploader serves only held pieces).
   */
  async forgetPiece (index: number): Promise<void> {
    const downloader = this.#downloader
    const metainfo = this.metainfo
    if (downloader === undefined || metainfo === undefined || !downloader.have.has(index)) return
    downloader.picker.pieceFailed(index)
    // Wanted again even if no reader comes for it (the visitor was a full copy: it should be one again).
    downloader.picker.setWanted(index, index, true)
    this.#verifiedBytes -= pieceLengthAt(metainfo, index)
    this.#done = false
    this.#side?.forget(index)
    // A store that fails to delete it (the same broken store) still gets the new copy put: IndexedDB's leaves no run
    // holding the old copy that would shadow it (IdbStore.delete drops such a run whole when it cannot rewrite it).
    await this.store?.delete?.(index).catch(() => {})
    // Interested again in the peers that have it (as a seed we told them we were not), and ask them.
    for (const peer of this.#peerList.all) downloader.updateInterest(peer)
  }

  async destroy (): Promise<void> {
    if (this.destroyed) return
    this.destroyed = true
    if (this.#tick !== undefined) clearInterval(this.#tick)
    this.#side?.destroy()
    this.#peerList.destroyAll()
    // One error for every wait the end stops: the reads' and (Node) the waits for the metainfo (endReadyWaits).
    this.#reader.rejectAll(typeof PEERSITE_BROWSER === 'undefined' ? endReadyWaits(this) : new AbortError('torrent destroyed'))
    if (!(typeof PEERSITE_PLAIN === 'boolean' && PEERSITE_PLAIN)) this.webSeeds?.destroy()
    await this.#discovery?.destroy()
    await this.store?.close()
    this.removeAllListeners()
  }
}

/**
 * How Torrent.destroy ends each wait for the metainfo under way (ready), removed when the wait ends. Node only (serve,
 * a gateway's requests): a browser asks for the metainfo once it has it (loader/engine-host.ts), and its bundles leave
 * this and the two functions below out.
 */
const readyWaits = new WeakMap<Torrent, Set<(err: Error) => void>>()

/** `wait` for the metainfo, or the torrent's end if it comes first (destroy drops the wait's listener). */
async function untilDestroyed (torrent: Torrent, wait: Promise<Metainfo>): Promise<Metainfo> {
  let waits = readyWaits.get(torrent)
  if (waits === undefined) readyWaits.set(torrent, waits = new Set())
  let stop!: (err: Error) => void
  const ended = new Promise<never>((_resolve, reject) => { stop = reject })
  waits.add(stop)
  try {
    return await Promise.race([wait, ended])
  } finally {
    waits.delete(stop)
  }
}

/** Ends the torrent's waits for the metainfo with the destroy's error, and gives it back (for its reader's rejectAll). */
function endReadyWaits (torrent: Torrent): Error {
  const err = new AbortError('torrent destroyed')
  for (const stop of readyWaits.get(torrent) ?? []) stop(err)
  return err
}
