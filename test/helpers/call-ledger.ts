/**
 * Counts for "every Call answered exactly once": Calls sent, answered once, answered twice,
 * never answered, by UniqueId. Used by the broker outage and load tests, both directions.
 */
export interface LedgerCounts { sent: number, answered: number, doubled: number, unanswered: number, errors: number }

export class CallLedger {
  private readonly answers = new Map<string, number>()
  private readonly errorIds = new Set<string>()

  sent (id: string): void {
    if (!this.answers.has(id)) this.answers.set(id, 0)
  }

  /** An answer to `id` (a CallResult, or a CallError when `error`); unknown ids are ignored. */
  answer (id: string, error = false): void {
    const n = this.answers.get(id)
    if (n === undefined) return
    this.answers.set(id, n + 1)
    if (error) this.errorIds.add(id)
  }

  get counts (): LedgerCounts {
    let answered = 0
    let doubled = 0
    let unanswered = 0
    for (const n of this.answers.values()) {
      if (n === 0) unanswered++
      else answered++
      if (n > 1) doubled++
    }
    return { sent: this.answers.size, answered, doubled, unanswered, errors: this.errorIds.size }
  }

  /** The first few ids never answered (for a failure message). */
  unanswered (max = 10): string[] {
    return [...this.answers].filter(([, n]) => n === 0).slice(0, max).map(([id]) => id)
  }

  get settled (): boolean { return this.counts.unanswered === 0 }
}
