/**
 * A self-signed certificate for the simulator's TLS mode, made with Node's own crypto (no
 * `openssl` binary, no package): an ECDSA P-256 key and an X.509 v3 certificate whose subject
 * alternative names are `localhost`, `127.0.0.1`, `::1` and the hosts asked for, valid from an
 * hour ago for 30 days, signed by its own key. Clients trust it through its PEM text (`ca`)
 * or, for a whole Node process, `NODE_EXTRA_CA_CERTS=<path of the PEM file>`.
 * @module
 */
import { generateKeyPairSync, randomBytes, sign } from "node:crypto"
import { isIP } from "node:net"

/** A certificate and its private key, both PEM. */
export interface SelfSignedCertificate {
  readonly cert: string
  readonly key: string
}

/** Options of {@link createSelfSignedCertificate}. */
export interface SelfSignedOptions {
  /** Names or IP addresses the certificate is for, besides localhost, 127.0.0.1 and ::1. */
  readonly hosts?: readonly string[]
  /** The subject's common name (default `voxstate simulator`). */
  readonly commonName?: string
  /** Days the certificate is valid (default 30). */
  readonly days?: number
  /** The time it is made at (default now). */
  readonly now?: Date
}

// ---- DER ----

const lengthBytes = (length: number): number[] => {
  if (length < 0x80) return [length]
  const bytes: number[] = []
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest & 0xff)
  return [0x80 | bytes.length, ...bytes]
}

const tlv = (tag: number, ...contents: Uint8Array[]): Uint8Array => {
  const body = Buffer.concat(contents)
  return Buffer.concat([Buffer.from([tag, ...lengthBytes(body.length)]), body])
}

const sequence = (...items: Uint8Array[]) => tlv(0x30, ...items)

const oid = (dotted: string): Uint8Array => {
  const [first = 0, second = 0, ...rest] = dotted.split(".").map(Number)
  const bytes = [40 * first + second]
  for (const arc of rest) {
    const groups: number[] = []
    for (let value = arc; ; value = Math.floor(value / 128)) {
      groups.unshift((value & 0x7f) | (groups.length === 0 ? 0 : 0x80))
      if (value < 128) break
    }
    bytes.push(...groups)
  }
  return tlv(0x06, Buffer.from(bytes))
}

/** A positive INTEGER from big-endian bytes. */
const positiveInteger = (bytes: Uint8Array): Uint8Array =>
  tlv(0x02, (bytes[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes)

const utf8String = (text: string) => tlv(0x0c, Buffer.from(text, "utf8"))
const bitString = (bytes: Uint8Array) => tlv(0x03, Buffer.from([0]), bytes)
const octetString = (bytes: Uint8Array) => tlv(0x04, bytes)
const booleanTrue = () => tlv(0x01, Buffer.from([0xff]))

/** UTCTime (`YYMMDDHHMMSSZ`) for years before 2050, GeneralizedTime after, as X.509 asks. */
const time = (date: Date): Uint8Array => {
  const iso = date.toISOString()
  const digits = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`
  return date.getUTCFullYear() < 2050
    ? tlv(0x17, Buffer.from(digits.slice(2), "latin1"))
    : tlv(0x18, Buffer.from(digits, "latin1"))
}

/** The 4 or 16 bytes of an IP address. */
const ipBytes = (address: string): Uint8Array => {
  if (isIP(address) === 4) return Buffer.from(address.split(".").map(Number))
  const [head = "", tail = ""] = address.split("::")
  const headGroups = head === "" ? [] : head.split(":")
  const tailGroups = tail === "" ? [] : tail.split(":")
  const groups = address.includes("::")
    ? [
        ...headGroups,
        ...new Array<string>(8 - headGroups.length - tailGroups.length).fill("0"),
        ...tailGroups,
      ]
    : headGroups
  const out = Buffer.alloc(16)
  for (const [i, group] of groups.entries()) out.writeUInt16BE(Number.parseInt(group, 16), i * 2)
  return out
}

const ECDSA_WITH_SHA256 = "1.2.840.10045.4.3.2"

/**
 * Makes a self-signed certificate for the simulator (see the module description).
 * @throws RangeError when `days` is not a positive number
 */
export const createSelfSignedCertificate = (options: SelfSignedOptions = {}): SelfSignedCertificate => {
  const days = options.days ?? 30
  if (!(days > 0)) throw new RangeError(`days must be a positive number, got ${days}`)
  const now = options.now ?? new Date()
  const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" })
  const hosts = [...new Set(["localhost", "127.0.0.1", "::1", ...(options.hosts ?? [])])].filter(
    (host) => host !== "0.0.0.0" && host !== "::" && host.length > 0,
  )
  const altNames = hosts.map((host) =>
    isIP(host) === 0 ? tlv(0x82, Buffer.from(host, "latin1")) : tlv(0x87, ipBytes(host)),
  )
  const name = sequence(
    tlv(0x31, sequence(oid("2.5.4.3"), utf8String(options.commonName ?? "voxstate simulator"))),
  )
  const serial = randomBytes(16)
  serial[0] = (serial[0] ?? 0) & 0x7f
  const extension = (id: string, value: Uint8Array, critical = false) =>
    sequence(oid(id), ...(critical ? [booleanTrue()] : []), octetString(value))
  const tbs = sequence(
    tlv(0xa0, tlv(0x02, Buffer.from([2]))), // v3
    positiveInteger(serial),
    sequence(oid(ECDSA_WITH_SHA256)),
    name,
    sequence(time(new Date(now.getTime() - 3_600_000)), time(new Date(now.getTime() + days * 86_400_000))),
    name,
    publicKey.export({ type: "spki", format: "der" }),
    tlv(
      0xa3,
      sequence(
        extension("2.5.29.17", sequence(...altNames)), // subjectAltName
        extension("2.5.29.19", sequence(booleanTrue()), true), // basicConstraints: a CA (its own root)
        extension("2.5.29.15", bitString(Buffer.from([0x84])), true), // keyUsage: digitalSignature, keyCertSign
        extension("2.5.29.37", sequence(oid("1.3.6.1.5.5.7.3.1"))), // extKeyUsage: serverAuth
      ),
    ),
  )
  const signature = sign("sha256", tbs, privateKey)
  const der = sequence(tbs, sequence(oid(ECDSA_WITH_SHA256)), bitString(signature))
  const base64 = Buffer.from(der).toString("base64").replace(/.{64}/g, "$&\n")
  return {
    cert: `-----BEGIN CERTIFICATE-----\n${base64.trimEnd()}\n-----END CERTIFICATE-----\n`,
    key: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
  }
}
