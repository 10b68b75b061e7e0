/**
 * A bound on MQTT packet size, enforced on the bytes before mqtt-packet parses them. The
 * parser (under aedes) buffers a whole packet before it emits it, so a client announcing a
 * 200 MB PUBLISH would make the broker hold 200 MB; here the fixed header is read as it
 * arrives (MQTT 3.1.1 §2.2: one type byte, then the Remaining Length in 1-4 bytes of 7 bits)
 * and the client is refused as soon as the announced size is over the limit. Bodies are
 * skipped by arithmetic: the cost is a few operations per packet, not per byte.
 */

/** Feed every chunk read from one connection, in order; false once a packet is too large (or the length malformed). */
export function packetSizeGuard (maxBytes: number): (chunk: Uint8Array) => boolean {
  let skip = 0 // body bytes of the current packet still to come
  let inLength = false
  let length = 0
  let mul = 1
  let lengthBytes = 0
  let failed = false
  return (chunk) => {
    if (failed) return false
    let i = 0
    while (i < chunk.length) {
      if (skip > 0) {
        const n = Math.min(skip, chunk.length - i)
        i += n
        skip -= n
        continue
      }
      const b = chunk[i++] as number
      if (!inLength) { inLength = true; length = 0; mul = 1; lengthBytes = 0; continue }
      length += (b & 0x7f) * mul
      mul *= 128
      lengthBytes++
      if ((b & 0x80) !== 0) {
        if (lengthBytes === 4) { failed = true; return false } // §2.2.3: at most four bytes
        continue
      }
      inLength = false
      if (1 + lengthBytes + length > maxBytes) { failed = true; return false }
      skip = length
    }
    return true
  }
}
