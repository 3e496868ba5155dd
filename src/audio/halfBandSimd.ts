/**
 * WebAssembly SIMD (f64x2) kernels for the half-band 2:1 and 1:2 paths of the resampler.
 *
 * The module is a few hundred bytes, assembled below from its instructions (no build step,
 * no binary blob). It computes, four outputs per iteration (two f64x2 accumulators),
 *
 *   acc[q] = g·C[q] + Σ_j coef[j]·(Lo[q - j] + Hi[q + j])        q = 0 … 4·blocks - 1
 *
 * with exactly the IEEE operations, in exactly the order, of the scalar JavaScript
 * kernels in resampler.ts (WebAssembly never fuses a multiply-add), so both produce
 * bit-identical output and either may run. Rounding to PCM16 stays in JavaScript.
 *
 * One instance and one scratch memory serve the whole process: the kernels are
 * synchronous and keep no state in the scratch between calls.
 *
 * ```wat
 * (func (export "pairs4") (param $c i32) (param $g f64) (param $lo i32) (param $hi i32)
 *       (param $coef i32) (param $count i32) (param $out i32) (param $blocks i32)
 *   (local $l i32) (local $h i32) (local $cp i32) (local $cend i32)
 *   (local $a0 v128) (local $a1 v128) (local $cv v128) (local $gv v128)
 *   (local.set $gv (f64x2.splat (local.get $g)))
 *   (local.set $cend (i32.add (local.get $coef) (i32.shl (local.get $count) (i32.const 3))))
 *   (block $done
 *     (br_if $done (i32.eqz (local.get $blocks)))
 *     (loop $block
 *       (local.set $a0 (f64x2.mul (local.get $gv) (v128.load (local.get $c))))
 *       (local.set $a1 (f64x2.mul (local.get $gv) (v128.load offset=16 (local.get $c))))
 *       (local.set $l (local.get $lo)) (local.set $h (local.get $hi)) (local.set $cp (local.get $coef))
 *       (loop $tap
 *         (local.set $cv (v128.load64_splat (local.get $cp)))
 *         (local.set $a0 (f64x2.add (local.get $a0) (f64x2.mul (local.get $cv)
 *           (f64x2.add (v128.load (local.get $l)) (v128.load (local.get $h))))))
 *         (local.set $a1 (f64x2.add (local.get $a1) (f64x2.mul (local.get $cv)
 *           (f64x2.add (v128.load offset=16 (local.get $l)) (v128.load offset=16 (local.get $h))))))
 *         (local.set $l (i32.sub (local.get $l) (i32.const 8)))
 *         (local.set $h (i32.add (local.get $h) (i32.const 8)))
 *         (br_if $tap (i32.lt_u (local.tee $cp (i32.add (local.get $cp) (i32.const 8))) (local.get $cend))))
 *       (v128.store (local.get $out) (local.get $a0))
 *       (v128.store offset=16 (local.get $out) (local.get $a1))
 *       (local.set $c (i32.add (local.get $c) (i32.const 32)))
 *       (local.set $lo (i32.add (local.get $lo) (i32.const 32)))
 *       (local.set $hi (i32.add (local.get $hi) (i32.const 32)))
 *       (local.set $out (i32.add (local.get $out) (i32.const 32)))
 *       (br_if $block (local.tee $blocks (i32.sub (local.get $blocks) (i32.const 1)))))))
 * ```
 * @module
 */

import { toPcm16 } from "./rounding.ts"

const uleb = (n: number): number[] => {
  const out: number[] = []
  do {
    let byte = n & 0x7f
    n >>>= 7
    if (n !== 0) byte |= 0x80
    out.push(byte)
  } while (n !== 0)
  return out
}

const sleb = (n: number): number[] => {
  const out: number[] = []
  for (;;) {
    const byte = n & 0x7f
    n >>= 7
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte)
      return out
    }
    out.push(byte | 0x80)
  }
}

const name = (s: string) => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))]
const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body]

// Instructions.
const i32 = 0x7f
const f64 = 0x7c
const v128 = 0x7b
const get = (i: number) => [0x20, i]
const set = (i: number) => [0x21, i]
const tee = (i: number) => [0x22, i]
const i32Const = (v: number) => [0x41, ...sleb(v)]
const i32Add = 0x6a
const i32Sub = 0x6b
const i32Shl = 0x74
const i32LtU = 0x49
const i32Eqz = 0x45
const block = [0x02, 0x40]
const loop = [0x03, 0x40]
const end = 0x0b
const brIf = (depth: number) => [0x0d, depth]
const simd = (op: number, ...immediates: number[]) => [0xfd, ...uleb(op), ...immediates]
// memarg: alignment hint 2^3 (the f64 addresses used are 8-byte aligned), offset.
const v128Load = (offset: number) => simd(0x00, 3, ...uleb(offset))
const v128Store = (offset: number) => simd(0x0b, 3, ...uleb(offset))
const v128Load64Splat = simd(0x0a, 3, 0)
const f64x2Splat = simd(0x14)
const f64x2Add = simd(0xf0)
const f64x2Mul = simd(0xf2)

// Parameters, then locals.
const [C, G, LO, HI, COEF, COUNT, OUT, BLOCKS] = [0, 1, 2, 3, 4, 5, 6, 7]
const [L, H, CP, CEND, A0, A1, CV, GV] = [8, 9, 10, 11, 12, 13, 14, 15]

const tap = (acc: number, offset: number) => [
  ...get(acc),
  ...get(CV),
  ...get(L),
  ...v128Load(offset),
  ...get(H),
  ...v128Load(offset),
  ...f64x2Add,
  ...f64x2Mul,
  ...f64x2Add,
  ...set(acc),
]

const body = [
  ...[2, 4, i32, 4, v128],
  ...get(G),
  ...f64x2Splat,
  ...set(GV),
  ...get(COEF),
  ...get(COUNT),
  ...i32Const(3),
  i32Shl,
  i32Add,
  ...set(CEND),
  ...block,
  ...get(BLOCKS),
  i32Eqz,
  ...brIf(0),
  ...loop,
  ...[...get(GV), ...get(C), ...v128Load(0), ...f64x2Mul, ...set(A0)],
  ...[...get(GV), ...get(C), ...v128Load(16), ...f64x2Mul, ...set(A1)],
  ...[...get(LO), ...set(L), ...get(HI), ...set(H), ...get(COEF), ...set(CP)],
  ...loop,
  ...[...get(CP), ...v128Load64Splat, ...set(CV)],
  ...tap(A0, 0),
  ...tap(A1, 16),
  ...[...get(L), ...i32Const(8), i32Sub, ...set(L)],
  ...[...get(H), ...i32Const(8), i32Add, ...set(H)],
  ...[...get(CP), ...i32Const(8), i32Add, ...tee(CP), ...get(CEND), i32LtU, ...brIf(0)],
  end,
  ...[...get(OUT), ...get(A0), ...v128Store(0)],
  ...[...get(OUT), ...get(A1), ...v128Store(16)],
  ...[...get(C), ...i32Const(32), i32Add, ...set(C)],
  ...[...get(LO), ...i32Const(32), i32Add, ...set(LO)],
  ...[...get(HI), ...i32Const(32), i32Add, ...set(HI)],
  ...[...get(OUT), ...i32Const(32), i32Add, ...set(OUT)],
  ...[...get(BLOCKS), ...i32Const(1), i32Sub, ...tee(BLOCKS), ...brIf(0)],
  end,
  end,
  end,
]

const wasm = new Uint8Array([
  ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
  ...section(1, [1, 0x60, 8, i32, f64, i32, i32, i32, i32, i32, i32, 0]),
  ...section(2, [1, ...name("env"), ...name("memory"), 0x02, 0x00, 0x01]),
  ...section(3, [1, 0]),
  ...section(7, [1, ...name("pairs4"), 0x00, 0x00]),
  ...section(10, [1, ...uleb(body.length), ...body]),
])

type Pairs4 = (
  c: number,
  g: number,
  lo: number,
  hi: number,
  coef: number,
  count: number,
  out: number,
  blocks: number,
) => void

// The slice of the WebAssembly JS API used here. The project compiles without the DOM
// library, which is where TypeScript declares WebAssembly, so it is described locally.
interface WasmMemory {
  readonly buffer: ArrayBuffer
  grow(pages: number): number
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean
  readonly Memory: new (descriptor: { initial: number }) => WasmMemory
  readonly Module: new (bytes: Uint8Array) => object
  readonly Instance: new (module: object, imports: object) => { readonly exports: Record<string, unknown> }
}

interface Engine {
  readonly memory: WasmMemory
  readonly pairs4: Pairs4
  view: Float64Array
}

const build = (): Engine | undefined => {
  const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly
  if (api === undefined || !api.validate(wasm)) return undefined
  const memory = new api.Memory({ initial: 1 })
  const instance = new api.Instance(new api.Module(wasm), { env: { memory } })
  return { memory, pairs4: instance.exports.pairs4 as Pairs4, view: new Float64Array(memory.buffer) }
}

const engine = build()

/** True when this engine runs WebAssembly SIMD; otherwise the resampler uses its scalar kernels. */
export const simdAvailable = engine !== undefined

// Scratch layout, in f64 slots: coefficients first, then the per-call arrays.
const coefSlots = 64

const scratch = (e: Engine, slots: number): Float64Array => {
  const bytes = (coefSlots + slots) * 8
  if (bytes > e.memory.buffer.byteLength) {
    e.memory.grow(Math.ceil((bytes - e.memory.buffer.byteLength) / 65_536))
    e.view = new Float64Array(e.memory.buffer)
  }
  return e.view
}

/**
 * 2:1 half-band decimation of `n` outputs whose centres are buf[s], buf[s+2], …:
 * out[o] = ½·x[s+2o] + Σ_j odd[j]·(x[s+2o-2j-1] + x[s+2o+2j+1]), rounded and clipped.
 * Needs `simdAvailable`. The samples are split into even (centre) and odd (tap) rows so
 * that neighbouring outputs read neighbouring slots.
 */
export const halfBandDecimateSimd = (
  buf: Float64Array,
  s: number,
  out: Int16Array,
  n: number,
  odd: Float64Array,
) => {
  const e = engine!
  const count = odd.length
  const blocks = n >> 2
  const m = blocks * 4
  // Rows: E[q] = x[s+2q] (q < m); O[q] = x[s+2q+1] for q in [-count, m+count-1); then acc[m].
  const oRows = m + 2 * count - 1
  const view = scratch(e, m + oRows + m)
  const eAt = coefSlots
  const oAt = eAt + m
  const accAt = oAt + oRows
  view.set(odd, 0)
  for (let q = 0, r = s; q < m; q++, r += 2) view[eAt + q] = buf[r]!
  for (let q = 0, r = s + 1 - 2 * count; q < oRows; q++, r += 2) view[oAt + q] = buf[r]!
  // Output q's low taps are O[q-1-j] and its high taps O[q+j].
  e.pairs4(eAt * 8, 0.5, (oAt + count - 1) * 8, (oAt + count) * 8, 0, count, accAt * 8, blocks)
  for (let q = 0; q < m; q++) out[q] = toPcm16(view[accAt + q]!)
  for (let o = m, c = s + 2 * m; o < n; o++, c += 2) {
    let acc = 0.5 * buf[c]!
    let lo = c - 1
    let hi = c + 1
    for (let j = 0; j < count; j++, lo -= 2, hi += 2) acc += odd[j]! * (buf[lo]! + buf[hi]!)
    out[o] = toPcm16(acc)
  }
}

/**
 * 1:2 half-band interpolation of `pairs` input samples from buf[s]: out[o+2q] = x[s+q]
 * and out[o+2q+1] = Σ_j twice[j]·(x[s+q-j] + x[s+q+1+j]), rounded and clipped.
 * Needs `simdAvailable`. The input is contiguous already, so it is copied as it is.
 */
export const halfBandInterpolateSimd = (
  buf: Float64Array,
  s: number,
  out: Int16Array,
  o: number,
  pairs: number,
  twice: Float64Array,
) => {
  const e = engine!
  const count = twice.length
  const blocks = pairs >> 2
  const m = blocks * 4
  // Rows: x[s - count + 1 … s + m + count) then acc[m].
  const rows = m + 2 * count - 1
  const view = scratch(e, rows + m)
  const xAt = coefSlots
  const accAt = xAt + rows
  view.set(twice, 0)
  view.set(buf.subarray(s - count + 1, s + m + count), xAt)
  const x0 = xAt + count - 1 // slot of x[s]
  // The centre term is 0·x (the even outputs are copied, not filtered).
  e.pairs4(x0 * 8, 0, x0 * 8, (x0 + 1) * 8, 0, count, accAt * 8, blocks)
  for (let q = 0; q < m; q++, o += 2) {
    out[o] = buf[s + q]!
    out[o + 1] = toPcm16(view[accAt + q]!)
  }
  for (let q = m; q < pairs; q++, o += 2) {
    let acc = 0
    let lo = s + q
    let hi = s + q + 1
    for (let j = 0; j < count; j++, lo--, hi++) acc += twice[j]! * (buf[lo]! + buf[hi]!)
    out[o] = buf[s + q]!
    out[o + 1] = toPcm16(acc)
  }
}
