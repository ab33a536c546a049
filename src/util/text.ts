// Small text helpers for messages.

/** "1 VM", "2 VMs": a count with its noun in the right number. */
export const plural = (n: number, noun: string, nouns = `${noun}s`) => `${n} ${n === 1 ? noun : nouns}`;
