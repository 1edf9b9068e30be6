/**
 * Every tunable of the engine, with the sentence of the spec that justifies it.
 * Other modules import from here; nothing else hard-codes these numbers.
 *
 * Sizes and durations are written as plain numbers (1_048_576 // 1 MiB, not 1024 * 1024): esbuild leaves an
 * arithmetic constant in every browser bundle, used or not (sw.js uses few of these), and drops a literal one.
 */

/** Defined true by scripts/build-browser.mjs in the browser builds. */
declare const PEERSITE_BROWSER: boolean | undefined
/**
 * Whether the engine checks its own callers' arguments (API misuse: a piece count, an id of the wrong length, a value
 * to encode that is no uint32): everywhere but in the browser builds, as release builds leave out assertions. There
 * the callers are the engine and the loader themselves, tested with the checks on. A check of anything a peer, a
 * tracker, a file or the worker sends is never one of these.
 */
export const CHECK_ARGS = typeof PEERSITE_BROWSER === 'undefined'

/** BEP 3: "All current implementations use 2^14 (16 kiB), and close connections which request an amount greater than that." */
export const BLOCK_LENGTH = 16 * 1024

/** BEP 3 handshake: "a single byte 19 followed by the string 'BitTorrent protocol'", 8 reserved bytes, infohash, peer id. */
export const PROTOCOL_NAME = 'BitTorrent protocol'
export const HANDSHAKE_LENGTH = 1 + 19 + 8 + 20 + 20

/** BEP 10: "the extension protocol is enabled by setting the 20th bit from the right in the reserved bytes (reserved_byte[5] & 0x10)". */
export const EXTENSION_RESERVED_BYTE = 5
export const EXTENSION_RESERVED_BIT = 0x10

/**
 * The largest non-bitfield message we accept. A piece message is 9 bytes of header plus one block; extended messages
 * carry a ut_metadata piece (BEP 9: "each piece is 16kiB") plus a small bencoded dictionary.
 * A bitfield is allowed ceil(pieceCount / 8) + 1 bytes on top of this (see maxMessageLength()).
 * Anything larger closes the connection instead of allocating (a hostile peer cannot make us buffer 4 GiB).
 */
export const MAX_FIXED_MESSAGE_LENGTH = 1 + 8 + BLOCK_LENGTH + 1024

export function maxMessageLength (pieceCount: number): number {
  return Math.max(MAX_FIXED_MESSAGE_LENGTH, 1 + Math.ceil(pieceCount / 8))
}

/**
 * A `have` waits at most this long for the next message to the peer, to go out with it (engine/wire/peer.ts
 * writeHave); the haves of this span go together. Short next to what haves steer (a request times out after 15 s;
 * the publisher's seeder holds requests for 0.1 to 2.5 s: engine/spread.ts), long enough to meet the next batch of
 * requests of a fast download (every few pieces: a few ms at 50 MB/s).
 */
export const HAVE_BATCH_MS = 10

/** BEP 3: "Keepalives are generally sent once every two minutes". */
export const KEEP_ALIVE_INTERVAL_MS = 60_000
/**
 * A peer's `unchoke` fills our request pipeline to it at once (engine/wire/peer.ts), at most once in this long: a fill
 * may walk every piece (the picker's rarest first), and the torrent's tick fills every pipeline once a second anyway.
 */
export const UNCHOKE_FILL_INTERVAL_MS = 1000
/** A peer silent for longer than this (no message, not even a keep-alive) is dropped. */
export const PEER_IDLE_TIMEOUT_MS = 150_000
/**
 * A connection whose remote has not sent its whole handshake this long after it opened is dropped (libtorrent's
 * handshake_timeout, 10 s, counted from the connection, not from the last byte). PEER_IDLE_TIMEOUT_MS alone is no
 * limit here: any byte resets it, so a remote trickling its 68 bytes held a slot for hours, and turnover only sees
 * handshaken peers (engine/peer-policy.ts). Our handshake goes out as the channel opens; the remote's is one way away.
 */
export const PEER_HANDSHAKE_TIMEOUT_MS = 10_000
/**
 * Two peers that announce at the same time each answer the other's offer: two connections, one each way, whose
 * handshakes both arrive within this long (one round of offers, each connection set up in a few round trips).
 * Only then does a second connection under a connected peer id replace the first (engine/peer-list.ts); later, it
 * is refused unless the first has been silent for DEAD_LINK_MS. Both ends see about the same gap between the two (each end's handshake goes out as its channel opens),
 * so they rarely decide differently; when they do, both links close and the next announce connects them again.
 */
export const SIMULTANEOUS_OPEN_MS = 10_000
/**
 * A link silent this long is taken for dead: a live one sends at least a keep-alive every KEEP_ALIVE_INTERVAL_MS
 * (sent on the first 1 s tick past it, so the slack covers the tick and the way over). A connection under the
 * peer id of such a link replaces it (engine/peer-list.ts): an honest peer whose old link died silently (laptop
 * wake, network change) is back at once, not refused until PEER_IDLE_TIMEOUT_MS.
 */
export const DEAD_LINK_MS = KEEP_ALIVE_INTERVAL_MS + 5_000

/**
 * Outstanding block requests per peer. BEP 3 notes that pipelining "several requests at once" is needed for good
 * throughput; a data channel on a LAN moves 30-95 MB/s, so 128 x 16 KiB = 2 MiB in flight keeps it busy even at a
 * 30 ms round trip. The peer's own `reqq` (BEP 10 extended handshake) lowers this.
 */
export const MAX_OUTSTANDING_REQUESTS = 128
/** What we advertise as `reqq` (BEP 10: "the number of outstanding request messages this client supports"). */
export const OUR_REQQ = 256
/** Requests queued from one peer beyond this are dropped (hostile or broken peer). */
export const MAX_QUEUED_UPLOAD_REQUESTS = 512
/**
 * `have` messages kept per peer until we have the metadata (and the piece count) to apply them. What a peer has is
 * in its bitfield; haves before our metadata are the pieces it verified in the seconds since. (It was 2^20, the most
 * pieces a torrent can hold: 8 MiB per peer.)
 */
export const EARLY_HAVES_MAX = 4096

/**
 * BEP 3 "End Game": "send requests for all of its missing blocks to all of its peers". We wait until a block has
 * been out this long before asking a second peer: a small site is in end game from its first request, and asking
 * twice at once doubled the traffic (both copies arrive before the cancel), much of it from the publisher (measured
 * with bench/offload.mjs). One second is many round trips on a working connection.
 */
export const ENDGAME_DUPLICATE_AFTER_MS = 1000

/**
 * When a reader jumps to a piece nobody was asked for (a seek), each peer that has it drops our queued requests for
 * background pieces (cancel), but for the oldest this many: those are most likely on the wire already.
 */
export const RUSH_KEEP_REQUESTS = 16

/** A request unanswered for this long is given back to the picker so another peer can serve it. */
export const REQUEST_TIMEOUT_MS = 15_000

/**
 * Bytes queued on a data channel before we stop writing and wait for it to drain (to SEND_LOW_WATER_MARK). What is
 * queued there can no longer be cancelled, so it delays every seek of the peer we upload to (download.ts rush):
 * 1 MiB is 50 ms at 20 MB/s, yet still about 10 ms of the fastest channel measured here (node-datachannel, 90 MB/s).
 */
export const SEND_HIGH_WATER_MARK = 1_048_576 // 1 MiB
export const SEND_LOW_WATER_MARK = 524_288 // 512 KiB
/**
 * Blocks ready to upload are sent together, up to this many bytes per data-channel message: every send has a fixed
 * cost, and data channels move 64 KiB messages fastest (ENVIRONMENT.md: 18 MB/s at 64 KiB vs 16 at 16 KiB in
 * Chromium). Chromium and our Node peers accept messages up to 256 KiB (engine/transport/node-wrtc.ts).
 */
export const SEND_COALESCE_BYTES = 65_536 // 64 KiB

/** BEP 9: "The metadata is handled in blocks of 16KiB (16384 Bytes)." */
export const METADATA_PIECE_LENGTH = 16_384 // 16 KiB
/** We refuse metadata bigger than this: a hostile peer could otherwise announce gigabytes. */
export const MAX_METADATA_SIZE = 16_777_216 // 16 MiB
/**
 * BEP 9 leaves the size to the peer's word ("metadata_size ... the number of bytes of the metadata"), and a liar can
 * announce any size. Each size offered is assembled on its own (engine/metadata-exchange.ts); the sizes assembled at
 * once may add up to this many bytes, so a swarm of liars cannot make us hold 50 x MAX_METADATA_SIZE, and the right
 * size always fits beside one hostile maximum.
 */
// Derived values are wrapped in a pure call: esbuild keeps an unused `2 * X` or `Number.X` in every bundle (they may
// have side effects as far as it knows), and these are used only by code that most bundles leave out.
export const METADATA_CANDIDATE_BUDGET = /* @__PURE__ */ (() => 2 * MAX_METADATA_SIZE)()
/** A metadata request unanswered this long goes to another peer (BEP 9 sets no timeout; libtorrent uses seconds). */
export const METADATA_REQUEST_TIMEOUT_MS = 10_000
/** A peer that leaves this many metadata requests in a row unanswered is asked no more. */
export const METADATA_MAX_TIMEOUTS = 2
/**
 * Serving BEP 9: a request that finds the peer's connection above SEND_HIGH_WATER_MARK is rejected, not answered
 * (each answer is up to 16 KiB for a ~30-byte request: 62 KB of requests once queued 19.8 MB). The first such reject
 * warns; past this many the peer is banned. An honest peer asks each piece once, and again only after a reject.
 */
export const METADATA_MAX_FLOOD_REJECTS = 256

/**
 * A peer proven to have sent bad data this many times is banned. Proven: it alone sent a piece that failed its
 * hash, or its block differs from the one in the piece that finally verified (smart ban, engine/smart-ban.ts).
 * A peer that merely contributed to a failed piece with others is not blamed. A peer from a remote (address) that
 * had a peer banned starts one strike short: one proven bad piece bans it.
 */
export const MAX_HASH_FAILURES_PER_PEER = 2

/** How many connected peers one torrent keeps. */
export const MAX_PEERS = 50

/**
 * A seed drops a link to another seed (two seeds have nothing to give each other, BEP 3) only once this share of
 * its peer cap is in use: below it the link costs no leecher a slot, and keeps both visitors in a visible swarm.
 */
export const SEED_LINKS_DROPPED_FROM = 0.5
/**
 * The cap for a browser page (loader/engine-host.ts): every WebRTC connection costs a peer connection with its own
 * ICE, DTLS and SCTP state in the page, and a visitor's uplink is shared by all of them; with UPLOAD_SLOTS + 1
 * upload slots, a few more peers than slots are enough to find the fast ones and the pieces we lack.
 */
export const BROWSER_MAX_PEERS = 20

/**
 * Upload slots (engine/choker.ts). BEP 3, "Choking and Optimistic Unchoking": "The currently deployed choking
 * algorithm avoids fibrillation by only changing who's choked once every ten seconds. It does reciprocation and
 * number of uploads capping by unchoking the four peers which have the best upload rate and are interested."
 */
export const UPLOAD_SLOTS = 4
export const RECHOKE_INTERVAL_MS = 10_000
/**
 * BEP 3: "at any one time there is a single peer which is unchoked regardless of its upload rate (if interested,
 * it counts as one of the four allowed downloaders.) Which peer is optimistically unchoked rotates every 30
 * seconds." We keep it on top of the four regular slots, as libtorrent does, so reciprocation keeps all four.
 */
export const OPTIMISTIC_UNCHOKE_SLOTS = 1
export const OPTIMISTIC_INTERVAL_MS = 30_000
/** BEP 3: "Newly connected peers are three times as likely to start as the current optimistic unchoke". */
export const NEW_PEER_OPTIMISTIC_WEIGHT = 3
/**
 * BEP 3: once a downloader has completed, it "switches to preferring peers which it has better upload rates to,
 * which does a decent job of utilizing all available upload capacity". Ranking by rate alone lets one fast, greedy peer keep a slot forever; a seeder lets a slot holder keep it for at
 * most this long while others wait, then serves the longest waiting first (libtorrent's round-robin seed choker).
 */
export const SEED_TURN_MS = /* @__PURE__ */ (() => 3 * RECHOKE_INTERVAL_MS)()
/**
 * The publisher's seeder holds back a request for a piece that another connected peer holds (we sent it there, or
 * it announced it) while the requester keeps getting pieces from other peers, so that it fetches that piece from
 * them too (engine/spread.ts). BEP 16, super-seeding: the seeder sends a peer a new piece only once it has "seen
 * [the earlier one] passed on". A held request is served once its requester got nothing from others for
 * ORIGIN_SPREAD_HOLD_MS: longer than ENDGAME_DUPLICATE_AFTER_MS (when a visitor asks a second peer for a block) plus
 * a round trip and the IndexedDB commit after which a visitor announces a piece, yet short enough that a visitor
 * whose other sources are slow or gone barely waits, and below SNUB_AFTER_MS (a visitor that got nothing from us for
 * that long would give up on us and keep one request here). ORIGIN_SPREAD_MAX_HOLD_MS caps any hold below
 * REQUEST_TIMEOUT_MS: a request unanswered that long is never made to us again.
 */
export const ORIGIN_SPREAD_HOLD_MS = 2_500
export const ORIGIN_SPREAD_MAX_HOLD_MS = 10_000
/**
 * How long after we first held back one of its requests past its first page a visitor is held at all: visitors pass
 * a small site on in a few seconds; one still waiting after this long is served as if we were its only source
 * (issue 14: every visitor has the whole site within 20 s) ...
 */
export const ORIGIN_SPREAD_PATIENCE_MS = 8_000
/**
 * ... for pieces that at most this many other connected peers hold: the ones spreading slowest (BEP 16 reveals a
 * piece again only once it has seen it passed on). Serving every piece once patience ran out sent 2-4 extra copies
 * of most pieces with 16 visitors (bench/offload.mjs); a piece other visitors already pass on is fetched from them.
 */
export const ORIGIN_SPREAD_PATIENCE_COPIES = 1
/**
 * No peer announced any piece for this long, after visitors had been passing pieces to each other, while more than
 * one peer has requests held: a pause, not starvation. On a loaded machine every visitor's messages stop at once for
 * seconds and then arrive in a burst (bench/offload.mjs OFFLOAD_TRACE, 16 visitors at load 12: no `have` from anyone
 * for 3.7 s, then 455 within a second); starved batches and patience that ran out during such pauses sent most of
 * the extra copies (40 starved and 29 patience pieces of 97 duplicates in that round). During a pause neither runs
 * out, and the requesters' starvation clocks and patience restart or resume when news comes again.
 */
export const ORIGIN_SPREAD_PAUSE_MS = 1_000
/**
 * A starved requester (nothing from others for ORIGIN_SPREAD_HOLD_MS) is served this many of its held pieces, the
 * rarest, then ORIGIN_SPREAD_STARVED_GROWTH times as many after each further ORIGIN_SPREAD_HOLD_MS without news from
 * others (BEP 16 seeds reveal pieces a few at a time so that peers trade them), and after
 * ORIGIN_SPREAD_STARVED_BATCHES such batches everything it asks until news from others comes: the others cannot reach
 * it. 8 + 16 + 32 + 64 pieces of 16 KiB are most of a 2 MB site within 10 s (when any held request is served anyway:
 * ORIGIN_SPREAD_MAX_HOLD_MS); a larger site flows at 128 blocks (a full pipeline) per 2.5 s from 15 s on, and at full
 * speed after 20 s. Growing fourfold, or serving freely after three batches, sent whole copies on a loaded machine,
 * where visitors' `have` messages lag by seconds (bench/offload.mjs, 16 visitors at load 43: 3.9 copies). The first
 * batch was 16 pieces: with 8 visitors at load 20-40, one to three visitors a round got exactly one such batch, just
 * after their first page and before their links to the other visitors opened (OFFLOAD_TRACE), 0.13 copies each.
 */
export const ORIGIN_SPREAD_STARVED_PIECES = 8
export const ORIGIN_SPREAD_STARVED_GROWTH = 2
export const ORIGIN_SPREAD_STARVED_BATCHES = 8
/**
 * A newcomer (it holds fewer than UNPROVEN_PEER_REQUESTS pieces: what it asks before anyone delivered, its first
 * page) waits at most this long: it asks a second peer for those pieces at once (picker urgentPriority), which
 * answers within a round trip when the link is open; if it is not open yet, the first paint must not wait long.
 */
export const ORIGIN_SPREAD_NEWCOMER_HOLD_MS = 500
/**
 * ... but only while such holds pay off: once one ran out with the newcomer still lacking the piece (its links to the
 * visitors holding it were not open yet), newcomers are held ORIGIN_SPREAD_NEWCOMER_SHORT_HOLD_MS only for
 * ORIGIN_SPREAD_NEWCOMER_PROBE_MS, then the next one is held the full time again to see whether the links now open in
 * time. On a loaded machine the visitors' links to each other open seconds after their link to the publisher: every
 * newcomer of a 16-visitor round waited the whole hold and then got its first page from us anyway (bench/offload.mjs
 * OFFLOAD_TRACE: 86 of 86 first-page requests in two rounds at load 20-45), 0.5 s added to each first paint for
 * nothing. The short hold still catches the request whose piece arrives from another visitor as it reaches us (its
 * cancel follows within milliseconds: 0-7 of a round's first-page requests with 8 visitors).
 */
export const ORIGIN_SPREAD_NEWCOMER_PROBE_MS = 10_000
export const ORIGIN_SPREAD_NEWCOMER_SHORT_HOLD_MS = 100

/** Azureus-style peer id prefix: "-PS0100-" (peersite 0.1.0) followed by 12 random bytes. */
export const PEER_ID_PREFIX = '-PS0100-'

/** Advertised in the BEP 10 extended handshake as `v`. */
export const CLIENT_NAME = 'peersite 0.1.0'

/**
 * Streaming reads (`Torrent.read`, what the service worker and `peersite serve` use). No BEP covers streaming; BEP 3
 * only says a client "generally" downloads rarest first, which stays the rule for every piece no reader waits for.
 * A reader raises a sliding window instead of its whole range (a 1 GB file read from the middle would otherwise put
 * its whole tail ahead of everything else, and a seek would leave all of it queued): the piece under the reader at
 * READ_PRIORITY_NOW, the next READ_AHEAD_BYTES at READ_PRIORITY_AHEAD, moved as the reader advances.
 *
 * 4 MiB is about 4 s of 1080p video (8 Mbit/s) and about 0.2 s of a data channel at the 16-19 MB/s measured in
 * issue 4: the window is refilled long before playback reaches its end, yet a seek throws away at most this much
 * speculative work. With huge pieces the window still holds READ_AHEAD_MIN_PIECES pieces beyond the current one.
 */
export const READ_AHEAD_BYTES = 4_194_304 // 4 MiB
export const READ_AHEAD_MIN_PIECES = 2
/**
 * Pieces verified but refused by the store (its quota is full, or the loader's storage budget for the visit is
 * spent) still reach the readers waiting for them: the downloader keeps the latest of them in memory, as many as two
 * readers' windows hold (the piece under each reader and its read-ahead), and drops the oldest beyond that. So a
 * file larger than the storage available streams with bounded memory: 8-10 MiB for any piece length.
 */
export function unstoredPieces (pieceLength: number): number {
  return 2 * (readAheadPieces(pieceLength) + 1)
}
/** Picker priorities of a reader's window; every reader uses the same two, so concurrent readers take turns. */
export const READ_PRIORITY_NOW = 2
export const READ_PRIORITY_AHEAD = 1
/**
 * What a page will need (its scripts, stylesheets, fonts: peersite.json `preload`), fetched as soon as the page is
 * read: between a reader's read-ahead and the piece a reader waits for, in document order (the first file at the
 * top of this span), so the browser's first requests find their bytes arriving or already there.
 */
export const PRELOAD_PRIORITY_TOP = 1.5
/**
 * The second tier (peersite.json `preload.likely`: files a page's scripts name and may load on demand, a guess made
 * by publish): below a reader's read-ahead, above the background, at most LIKELY_MAX_BYTES per page whatever the
 * table says (a metered visitor pays for a wrong guess; the background prefetch's default limit is 5 MB).
 */
export const LIKELY_PRIORITY_TOP = 0.5
export const LIKELY_MAX_BYTES = 6_291_456 // 6 MiB
/**
 * A site with a sectioned index carries its pages' needs in its sections (worker/site-index.ts), which the worker
 * resolves by loading the needs' own sections: at most this many files per page and tier (publish writes at most 64
 * and 128, cli/lib/subresources.ts), so a crafted section cannot make the worker fetch the whole index or the engine
 * raise half the torrent. Each tier is also held to LIKELY_MAX_BYTES (loader/preload.ts PageHints.onRanges).
 */
export const PRELOAD_MAX_FILES = 64
export const LIKELY_MAX_FILES = 128

/** Pieces of read-ahead after the current one, for a torrent of this piece length. */
export function readAheadPieces (pieceLength: number): number {
  return Math.max(READ_AHEAD_MIN_PIECES, Math.ceil(READ_AHEAD_BYTES / pieceLength))
}

// ---- WebSocket trackers and WebRTC set-up (engine/discovery/, engine/transport/) ----

/**
 * WebSocket-tracker defaults. bittorrent-tracker's client caps offers at 5 per announce ("since it can be slow": each one gathers
 * ICE candidates) and destroys unanswered ones after 50 s; its server tells WebSocket clients to re-announce every
 * 2 minutes.
 */
export const WS_DEFAULT_NUMWANT = 5
export const WS_MAX_OFFERS_PER_ANNOUNCE = 10
/** Open RTCPeerConnections waiting for an answer or for their channel, across all trackers: each holds ports. */
export const WS_MAX_PENDING = 30
/**
 * A connection that opens before the torrent listens is held with what it sends meanwhile (held ones count in
 * WS_MAX_PENDING). Before we answer, a peer sends a handshake (68 B), a bitfield (8 KiB for 65,536 pieces, a 1 GiB
 * site of 16 KiB pieces) and an extended handshake (a few hundred bytes): past this, it is dropped.
 */
export const WS_MAX_HELD_BYTES = 65_536 // 64 KiB
export const WS_OFFER_TIMEOUT_MS = 50_000
export const WS_CONNECT_TIMEOUT_MS = 20_000
export const WS_DEFAULT_INTERVAL_MS = 120_000
/** Never re-announce faster than this, whatever a tracker says. */
export const WS_MIN_INTERVAL_MS = 1_000
/** Nor slower than this: setTimeout fires at once past 2^31-1 ms (24.8 days), and a tracker may say 30 days or 1e10 s. */
export const WS_MAX_INTERVAL_MS = 3_600_000 // 1 hour, as TRACKER_DEFAULT_INTERVAL_MS * 2 for HTTP trackers
/** Reconnect backoff after the socket closes: doubles from the minimum, capped, with jitter. */
export const WS_RECONNECT_MIN_MS = 2_000
export const WS_RECONNECT_MAX_MS = 300_000 // 5 minutes

/** ICE gathering normally ends in milliseconds on a LAN; STUN adds a round trip. */
export const ICE_GATHERING_TIMEOUT_MS = 2000
/**
 * A non-trickle description goes out this long after it holds a UDP candidate of every useful kind (host; server
 * reflexive with a STUN server; relay with a TURN server), without waiting for gathering to end: Chromium ends it
 * only after its TCP phase, 100-150 ms after the UDP candidates (seen in bench/trace-visit.mjs), and TCP candidates
 * connect to no WebRTC peer of a swarm (browsers' are passive, node-datachannel has none). The wait catches the
 * other interfaces' candidates of the same phase.
 */
export const ICE_SETTLE_MS = 15

// ---- Peer policy (engine/peer-policy.ts): snubbing, turnover, bans ----

/**
 * A peer with requests outstanding that delivers no block for this long is snubbed (libtorrent's snubbing; BEP 3
 * leaves it to clients: "anti-snubbing"): its requests go to other peers at once and it keeps at most one. A
 * data channel delivers a first 16 KiB block within a few round trips; 3 s is far beyond that for a working peer,
 * yet short enough that a visitor barely notices a silent one.
 */
export const SNUB_AFTER_MS = 3_000
/**
 * When the peer list is full, a newcomer takes the place of a peer that is useless while pieces are wanted: a
 * snubbed one, or one that delivered no block for this long since it connected or last delivered (it chokes us,
 * or has nothing we need). So a swarm full of silent peers still admits the honest seeder.
 */
export const USELESS_PEER_AFTER_MS = 10_000
/**
 * While seeding (engine/seeding-turnover.ts), a peer with no interest either way (it wants nothing we have, we want nothing) for this long gives
 * its slot to a newcomer when the list is full (libtorrent's inactivity_timeout, which also disconnects only at the
 * connection limit). libtorrent waits 10 minutes, for swarms where a peer's new pieces soon make it interesting
 * again; a seed has everything, so a peer not interested in it is a seed of it too (or one that keeps a slot by
 * saying nothing), and a refused newcomer waits for its next announce: one minute, far beyond the round trips in
 * which a new peer says it is interested (Downloader.updateInterest: at once after the handshakes).
 */
export const PEER_INACTIVITY_TIMEOUT_MS = 60_000
/** Records of peers that left, kept so that one that reconnects with the same id keeps its strikes. */
export const MAX_DEPARTED_PEER_RECORDS = 1000
/** Pieces whose failed attempts smart ban remembers (block hashes per contributor), oldest dropped beyond. */
export const MAX_SMART_BAN_PIECES = 256
/**
 * A full peer list still takes this many newcomers beyond its cap (then turns the most useless peers over, once
 * they are known to be useless: engine/peer-list.ts), so a peer that arrives while the slots are held by peers not
 * yet found useless (silent peers before their snub) is not turned away until its next announce, minutes later.
 */
export function peerTurnoverSlack (maxPeers: number): number {
  return Math.max(2, Math.ceil(maxPeers / 10))
}
/**
 * Requests outstanding at a peer that has not delivered a block yet (slow start, as libtorrent starts a peer's queue
 * small): one round trip later it has proven itself and gets MAX_OUTSTANDING_REQUESTS; a peer that never answers
 * holds only these. Blocks out only at such peers for ENDGAME_DUPLICATE_AFTER_MS go to peers that have delivered.
 */
export const UNPROVEN_PEER_REQUESTS = 4

/**
 * BEP 44: "Storing nodes MAY reject put requests where the bencoded form of v is longer than 1000 bytes. In other
 * words, it's not safe to assume storing more than 1000 bytes will succeed." A signed pointer record whose `v` is
 * longer could never reach the DHT (BEP 46), so it is refused everywhere.
 */
export const POINTER_MAX_VALUE_BYTES = 1000
/** BEP 44: "The salt string MUST NOT be longer than 64 bytes." */
export const POINTER_MAX_SALT_BYTES = 64
/**
 * BEP 44: "The sequence number SHOULD not exceed MAX_INT64 ... A client MAY also reject any message with a negative
 * sequence number." Ours are JavaScript numbers, so the ceiling is the largest safe integer (2^53 - 1): a bigger one
 * cannot be compared exactly and is refused.
 */
export const POINTER_MAX_SEQ = /* @__PURE__ */ (() => Number.MAX_SAFE_INTEGER)()
/**
 * The largest `peersite_pointer` extension message we read: one record (BEP 44 fields `k` 32 bytes, `sig` 64 bytes,
 * `salt` at most 64, `seq`, `v` at most POINTER_MAX_VALUE_BYTES) plus the dictionary's keys and length prefixes.
 */
export const POINTER_MAX_MESSAGE_BYTES = 1400
/** BEP 44: "The k field is the 32 byte ed25519 public key". */
export const POINTER_PUBLIC_KEY_BYTES = 32
/** BEP 44: "The signature is a 64 byte ed25519 signature". */
export const POINTER_SIGNATURE_BYTES = 64
/**
 * Records one peer may send on one connection before the rest are ignored: each costs an ed25519 check, and a site
 * publishes a new version rarely (a record is sent on connect and once per new version).
 */
export const POINTER_MAX_RECORDS_PER_PEER = 64

/**
 * A site's id in a gateway address `<id>.<gateway host>`: the lowercase RFC 4648 base32 alphabet ("a"-"z", "2"-"7"),
 * no padding (RFC 4648 section 6; section 3.2 allows leaving the padding out when the length is known). DNS labels
 * are case-insensitive and at most 63 characters (RFC 1035 2.3.4), which rules out hex for a 32-byte key (64) and
 * base64 (case), so the infohash and the public key both take base32.
 */
/** A 20-byte BitTorrent v1 infohash (BEP 3) is 160 bits: 32 base32 characters exactly. */
export const SITE_ID_INFOHASH_CHARS = 32
/** A 32-byte ed25519 public key (BEP 44 `k`) is 256 bits: 52 base32 characters, the last 4 bits zero. */
export const SITE_ID_KEY_CHARS = 52

/**
 * BEP 19 web seeds ("The HTTP or FTP server acts as a permanently unchoked seed"): asked only for what a reader
 * waits for, when no connected peer has the piece, or when peers have not delivered it within this long (peersite
 * keeps the host's traffic for the case where the swarm cannot serve; about a second is many round trips to a
 * working peer, and a first paint that waits longer than that for a page is a visible stall).
 */
export const WEB_SEED_DEADLINE_MS = 1000
/**
 * BEP 19 recommends "a single byte-range request" for a run of pieces rather than one per piece ("100s or 1000s of
 * requests in their logs ... a denial of service attack"): a reader's run is fetched in one Range request per file,
 * at most this many bytes at a time (one read-ahead window).
 */
export const WEB_SEED_MAX_RUN_BYTES = 4_194_304 // 4 MiB
/** BEP 19: "A client does not need to discard a HTTP or FTP server URL if it gets a 'busy' reply": it rests this long. */
export const WEB_SEED_RETRY_MS = 10_000

/*
 * The BitTorrent network for Node peers: TCP, HTTP/UDP trackers, the mainline DHT (engine/transport/tcp*.ts,
 * engine/discovery/{tcp,http-tracker,udp-tracker,dht}.ts). None of these reach a browser bundle.
 */
/** BEP 3 lists 6881-6889 as the ports clients "typically" try; the first is the default listening port. */
export const DEFAULT_PEER_PORT = 6881
/** Giving up on a TCP connect: a peer that does not answer SYNs in this long is most likely gone or firewalled. */
export const TCP_CONNECT_TIMEOUT_MS = 10_000
/** An accepted connection that has not sent the 48 bytes of handshake that route it in this long is dropped. */
export const TCP_HANDSHAKE_TIMEOUT_MS = 10_000
/** Accepted connections still waiting for their handshake, at most (a flood of idle connections costs little). */
export const TCP_MAX_HALF_OPEN_INCOMING = 64
/**
 * Bytes waiting to be sent on a TCP connection, at most: beyond, its remote does not read, and the connection is
 * closed. net.Socket buffers whatever it is given, and a peer's own messages make us write (a reject per metadata
 * request, a choke per `not-interested`): a remote that sends and never reads grew our memory without end. A data
 * channel has such a limit of its own (Chromium: 16 MiB, its send() then throws and the connection closes); the
 * uploader and the metadata exchange stop writing at SEND_HIGH_WATER_MARK long before.
 */
export const TCP_MAX_BUFFERED_BYTES = 16_777_216 // 16 MiB
/** Outgoing TCP connects in flight per torrent (libtorrent's `half_open_limit` idea: bounded, not all at once). */
export const TCP_MAX_DIALS = 8
/** After a failed connect or a dropped connection, wait this long (times the failures so far) before retrying. */
export const TCP_REDIAL_BACKOFF_MS = 30_000
/** Addresses remembered per torrent (from trackers, the DHT and PEX); the oldest are forgotten beyond it. */
export const TCP_MAX_KNOWN_ADDRESSES = 1000
/**
 * Re-announce period for HTTP and UDP trackers when they name none, and the shortest we honour (a tracker that
 * says 1 s would be flooded). BEP 3: "interval: Maps to the number of seconds the downloader should wait between
 * regular rerequests"; BEP 15 retries lost UDP requests after 15 * 2 ^ n seconds.
 */
export const TRACKER_DEFAULT_INTERVAL_MS = 1_800_000 // 30 minutes
export const TRACKER_MIN_INTERVAL_MS = 30_000
/**
 * Peers kept of one tracker answer (HTTP or UDP); the rest are not read. We ask for 50 (numwant); a tracker may send
 * tens of thousands (43,000 compact peers fit in the 256 KiB an HTTP answer may have), each then dialled in turn.
 */
export const TRACKER_MAX_PEERS = 200
/** Peers asked for per HTTP/UDP announce (BEP 3 `numwant`; trackers default to 50). */
export const TRACKER_NUMWANT = 50
/** One HTTP or UDP tracker request (a UDP one is sent again up to UDP_TRACKER_TRIES times within it). */
export const TRACKER_REQUEST_TIMEOUT_MS = 15_000
export const UDP_TRACKER_TRIES = 3
/** BEP 15: "protocol_id: 0x41727101980 // magic constant". */
export const UDP_TRACKER_PROTOCOL_ID = 0x41727101980n
/**
 * The DHT: look the torrent up and announce ourselves this often. BEP 5 nodes keep announced peers for a while
 * (bittorrent-dht: 15 minutes, libtorrent's default announce interval is 15 minutes as well).
 */
export const DHT_ANNOUNCE_INTERVAL_MS = 900_000 // 15 minutes
/** The public bootstrap routers every mainline client starts from (bittorrent-dht's defaults). */
export const DHT_DEFAULT_BOOTSTRAP: readonly string[] = ['router.bittorrent.com:6881', 'router.utorrent.com:6881', 'dht.transmissionbt.com:6881']

/**
 * `peersite mirror`: versions of a keyed site kept by default (the newest and the two before it: visitors still on
 * them are served). Here rather than in cli/lib/mirror.ts so that the command's options load without the mirror.
 */
export const MIRROR_KEEP_VERSIONS = 3
