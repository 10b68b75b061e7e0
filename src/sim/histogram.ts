/**
 * A mergeable log-linear latency histogram in microseconds (the HdrHistogram layout with 64
 * sub-buckets per power of two): constant memory, O(1) record, relative error below 1/64
 * (about 1.6 %), and two histograms merge by adding counts, which is how the summaries of
 * several worker processes are combined.
 *
 * @example
 *   const h = new Histogram()
 *   h.record(1234) // µs
 *   h.percentile(99) // -> about 1234
 */

/** Values below this are stored exactly, one bucket each. */
const LINEAR = 128
const SUB = 64
/** Values are clamped to 2^31 µs (about 36 minutes): far above any call timeout. */
const MAX_VALUE = 2 ** 31 - 1
const BUCKETS = LINEAR + 24 * SUB

function indexOf (v: number): number {
  if (v < LINEAR) return v
  const magnitude = 31 - Math.clz32(v) // floor(log2 v), >= 7
  const shift = magnitude - 6
  return LINEAR + (shift - 1) * SUB + ((v >>> shift) - SUB)
}

/** The middle of a bucket: the value reported for every sample in it. */
function valueOf (index: number): number {
  if (index < LINEAR) return index
  const j = index - LINEAR
  const shift = Math.floor(j / SUB) + 1
  const low = (SUB + (j % SUB)) * 2 ** shift
  return low + (2 ** shift - 1) / 2
}

/** Sparse form for JSON / IPC: [bucketIndex, count] pairs plus the exact extremes and sum. */
export interface HistogramData {
  buckets: Array<[number, number]>
  count: number
  sum: number
  min: number
  max: number
}

export class Histogram {
  private counts = new Float64Array(BUCKETS)
  count = 0
  sum = 0
  min = Infinity
  max = 0

  /** Record one value in microseconds (negative values count as 0). */
  record (us: number): void {
    const v = us <= 0 ? 0 : us >= MAX_VALUE ? MAX_VALUE : Math.round(us)
    this.counts[indexOf(v)]! += 1
    this.count++
    this.sum += v
    if (v < this.min) this.min = v
    if (v > this.max) this.max = v
  }

  /** The value at percentile p (0..100), clamped to the exact min and max; 0 when empty. */
  percentile (p: number): number {
    if (this.count === 0) return 0
    const rank = Math.max(1, Math.ceil((p / 100) * this.count))
    let seen = 0
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!
      if (seen >= rank) return Math.min(this.max, Math.max(this.min, valueOf(i)))
    }
    return this.max
  }

  mean (): number {
    return this.count === 0 ? 0 : this.sum / this.count
  }

  reset (): void {
    this.counts.fill(0)
    this.count = 0
    this.sum = 0
    this.min = Infinity
    this.max = 0
  }

  merge (other: Histogram | HistogramData): void {
    const data = other instanceof Histogram ? other.toJSON() : other
    for (const [i, c] of data.buckets) {
      if (i >= 0 && i < BUCKETS) this.counts[i]! += c
    }
    this.count += data.count
    this.sum += data.sum
    if (data.count > 0) {
      this.min = Math.min(this.min, data.min)
      this.max = Math.max(this.max, data.max)
    }
  }

  toJSON (): HistogramData {
    const buckets: Array<[number, number]> = []
    for (let i = 0; i < BUCKETS; i++) {
      const c = this.counts[i]!
      if (c > 0) buckets.push([i, c])
    }
    return { buckets, count: this.count, sum: this.sum, min: this.count === 0 ? 0 : this.min, max: this.max }
  }

  static from (data: HistogramData): Histogram {
    const h = new Histogram()
    h.merge(data)
    return h
  }
}
