/**
 * BEP 11 (ut_pex, Peer Exchange): the message codec and the bookkeeping of what we told each peer, as pure logic.
 * A message is the payload of a BEP 10 `extended` message (after the extended id byte), a bencoded dictionary:
 *
 *   added:    compact IPv4 contacts, 6 bytes each (4 address bytes, 2 port bytes, big-endian)
 *   added.f:  optional, one flags byte per IPv4 contact of `added`
 *   added6:   compact IPv6 contacts, 18 bytes each (16 address bytes, 2 port bytes)
 *   added6.f: optional, one flags byte per contact of `added6`
 *   dropped:  compact IPv4 contacts that left;  dropped6: the same for IPv6
 *
 * Where it helps and where it cannot: a PEX contact is an IP address and port to dial. A WebRTC connection needs an
 * offer and an answer carried by someone (a tracker) before any address is usable, so browsers (which cannot open
 * raw TCP or UDP sockets at all) never advertise ut_pex (a peer sends ut_pex only under an id we assigned, BEP 10;
 * a message under an unassigned id is ignored by wire/peer.ts). Node peers that speak TCP do: discovery/pex.ts
 * feeds PexState with their TCP peers' listening addresses and hands the contacts they receive to the TCP dialler.
 *
 * Hostile input: decodePex checks the bencoding grammar first (util/bencode.ts), rejects contact lists whose length
 * is not a multiple of the contact size, keeps at most PEX_MAX_PEERS added and PEX_MAX_PEERS dropped contacts
 * (the excess is ignored, not an error: some clients send a little more) and skips contacts with port 0.
 */
import { ProtocolError } from '../errors.js'
import { BencodeError, bdecode, bencode, isDict } from '../util/bencode.js'
import { parseIp, peerIp } from '../util/ip.js'

/** BEP 10 extension name advertised in the extended handshake's `m`. */
export const UT_PEX = 'ut_pex'

/**
 * The PEX conventions agreed by the ut_pex and AZ_PEX authors (and referenced by libtorrent): "There should be no
 * more than 50 added peers and 50 removed peers sent in a PEX message" ... "A peer exchange message should not be
 * sent more frequently than once a minute."
 */
export const PEX_MAX_PEERS = 50
export const PEX_INTERVAL_MS = 60_000

/** BEP 11 `added.f` bits. */
export const PEX_FLAGS = {
  /** 0x01: prefers encryption, as indicated by e field in extension handshake. */
  encryption: 0x01,
  /** 0x02: seed/upload_only. */
  seed: 0x02,
  /** 0x04: supports uTP. */
  utp: 0x04,
  /** 0x08: peer indicated ut_holepunch support in extension handshake. */
  holepunch: 0x08,
  /** 0x10: outgoing connection, peer is reachable. */
  reachable: 0x10
} as const

export interface PexContact {
  /** Dotted quad for IPv4; eight colon-separated lowercase hex groups (no `::` shortening) for IPv6. */
  ip: string
  port: number
}

export interface PexAdded extends PexContact {
  /** PEX_FLAGS bits; 0 when the message carried none. */
  flags: number
}

export interface PexMessage {
  added: PexAdded[]
  dropped: PexContact[]
}

/**
 * The canonical text of a contact (`ip:port`, IPv6 in brackets): a stable key for sets of contacts. An IPv4-mapped
 * address is keyed as its IPv4 address (util/ip.ts normalizeIp): one peer, one contact.
 */
export function contactKey (c: PexContact): string {
  const bytes = parseIp(c.ip)
  if (bytes === undefined) throw new RangeError(`invalid IP address ${c.ip}`)
  const ip = peerIp(bytes)
  return ip.includes(':') ? `[${ip}]:${c.port}` : `${ip}:${c.port}`
}

function checkPort (port: number): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`invalid port ${port}`)
}

/** Compact contacts of one family: address bytes then the port, big-endian (BEP 23's compact format). */
function compact (contacts: readonly PexContact[], size: 4 | 16): Uint8Array {
  const out = new Uint8Array(contacts.length * (size + 2))
  contacts.forEach((c, i) => {
    const bytes = parseIp(c.ip)!
    out.set(bytes, i * (size + 2))
    out[i * (size + 2) + size] = c.port >> 8
    out[i * (size + 2) + size + 1] = c.port & 0xff
  })
  return out
}

/**
 * Encodes a ut_pex payload. Only non-empty lists are written (BEP 11 lists every key, none is required). Throws
 * RangeError (API misuse) for an invalid address or port, or more than PEX_MAX_PEERS added or dropped contacts.
 */
export function encodePex (msg: { added?: ReadonlyArray<PexContact & { flags?: number }>, dropped?: readonly PexContact[] }): Uint8Array {
  const added = msg.added ?? []
  const dropped = msg.dropped ?? []
  if (added.length > PEX_MAX_PEERS || dropped.length > PEX_MAX_PEERS) {
    throw new RangeError(`at most ${PEX_MAX_PEERS} added and ${PEX_MAX_PEERS} dropped contacts per message`)
  }
  const family = (c: PexContact): 4 | 16 => {
    const bytes = parseIp(c.ip)
    if (bytes === undefined) throw new RangeError(`invalid IP address ${c.ip}`)
    checkPort(c.port)
    return bytes.length as 4 | 16
  }
  const added4 = added.filter((c) => family(c) === 4)
  const added6 = added.filter((c) => family(c) === 16)
  const dropped4 = dropped.filter((c) => family(c) === 4)
  const dropped6 = dropped.filter((c) => family(c) === 16)
  const flags = (list: ReadonlyArray<{ flags?: number }>): Uint8Array => Uint8Array.from(list, (c) => (c.flags ?? 0) & 0xff)
  const dict: Record<string, Uint8Array> = {}
  if (added4.length > 0) {
    dict.added = compact(added4, 4)
    dict['added.f'] = flags(added4)
  }
  if (added6.length > 0) {
    dict.added6 = compact(added6, 16)
    dict['added6.f'] = flags(added6)
  }
  if (dropped4.length > 0) dict.dropped = compact(dropped4, 4)
  if (dropped6.length > 0) dict.dropped6 = compact(dropped6, 16)
  return bencode(dict)
}

/**
 * Splits a compact list; at most `room` contacts, port-0 contacts skipped. An IPv4-mapped address in `added6` or
 * `dropped6` is given as its IPv4 address (util/ip.ts normalizeIp: one peer, one contact).
 */
function uncompact (value: unknown, size: 4 | 16, key: string, room: number): PexContact[] {
  if (value === undefined) return []
  if (!(value instanceof Uint8Array)) throw new ProtocolError(`ut_pex ${key} is not a byte string`)
  const step = size + 2
  if (value.length % step !== 0) throw new ProtocolError(`ut_pex ${key} is ${value.length} bytes, not a multiple of ${step}`)
  const out: PexContact[] = []
  for (let off = 0; off < value.length && out.length < room; off += step) {
    const port = (value[off + size]! << 8) | value[off + size + 1]!
    if (port === 0) continue
    out.push({ ip: peerIp(value.subarray(off, off + size)), port })
  }
  return out
}

/** Flags for the first `count` contacts of a list (the contacts with port 0 were skipped: keep the alignment). */
function flagsFor (value: unknown, contacts: unknown, size: 4 | 16): number[] | undefined {
  if (!(value instanceof Uint8Array) || !(contacts instanceof Uint8Array)) return undefined
  const step = size + 2
  // A flags string that does not have one byte per contact is ignored (BEP 11 makes the flags optional).
  if (value.length !== contacts.length / step) return undefined
  const out: number[] = []
  for (let i = 0; i < value.length; i++) {
    const port = (contacts[i * step + size]! << 8) | contacts[i * step + size + 1]!
    if (port !== 0) out.push(value[i]!)
  }
  return out
}

/**
 * Decodes a ut_pex payload from a peer. Throws ProtocolError when it is not a bencoded dictionary or a contact list
 * is malformed; unknown keys are ignored; at most PEX_MAX_PEERS added (IPv4 first) and PEX_MAX_PEERS dropped.
 */
export function decodePex (payload: Uint8Array): PexMessage {
  let dict
  try {
    dict = bdecode(payload)
  } catch (err) {
    if (err instanceof BencodeError) throw new ProtocolError(`ut_pex: ${err.message}`)
    throw err
  }
  if (!isDict(dict)) throw new ProtocolError('ut_pex payload is not a dictionary')
  const added4 = uncompact(dict.added, 4, 'added', PEX_MAX_PEERS)
  const added6 = uncompact(dict.added6, 16, 'added6', PEX_MAX_PEERS - added4.length)
  const flags4 = flagsFor(dict['added.f'], dict.added, 4)
  const flags6 = flagsFor(dict['added6.f'], dict.added6, 16)
  const dropped4 = uncompact(dict.dropped, 4, 'dropped', PEX_MAX_PEERS)
  const dropped6 = uncompact(dict.dropped6, 16, 'dropped6', PEX_MAX_PEERS - dropped4.length)
  return {
    added: [
      ...added4.map((c, i) => ({ ...c, flags: flags4?.[i] ?? 0 })),
      ...added6.map((c, i) => ({ ...c, flags: flags6?.[i] ?? 0 }))
    ],
    dropped: [...dropped4, ...dropped6]
  }
}

/**
 * What one remote peer has been told: each PEX round (at most every PEX_INTERVAL_MS) compares our current contacts
 * with the last message and sends the difference, at most PEX_MAX_PEERS each way (the rest goes in later rounds).
 */
export class PexState {
  /** contactKey -> contact, as the remote knows them from us. */
  readonly #told = new Map<string, PexAdded>()
  #lastSentAt = -Infinity

  /**
   * The next message for this peer given our connected contacts now (excluding the peer itself), or undefined when
   * it is too early or nothing changed. `now` in ms.
   */
  next (current: ReadonlyArray<PexContact & { flags?: number }>, now: number): PexMessage | undefined {
    if (now - this.#lastSentAt < PEX_INTERVAL_MS) return undefined
    const byKey = new Map<string, PexAdded>()
    for (const c of current) {
      // A contact encodePex would refuse (an address with a zone, a port out of range) is left out, not thrown on.
      if (parseIp(c.ip) === undefined || !Number.isInteger(c.port) || c.port < 1 || c.port > 65535) continue
      byKey.set(contactKey(c), { ip: c.ip, port: c.port, flags: c.flags ?? 0 })
    }
    const added: PexAdded[] = []
    const dropped: PexContact[] = []
    for (const [key, c] of byKey) {
      if (added.length >= PEX_MAX_PEERS) break
      if (!this.#told.has(key)) added.push(c)
    }
    for (const [key, c] of this.#told) {
      if (dropped.length >= PEX_MAX_PEERS) break
      if (!byKey.has(key)) dropped.push({ ip: c.ip, port: c.port })
    }
    if (added.length === 0 && dropped.length === 0) return undefined
    for (const c of added) this.#told.set(contactKey(c), c)
    for (const c of dropped) this.#told.delete(contactKey(c))
    this.#lastSentAt = now
    return { added, dropped }
  }
}
