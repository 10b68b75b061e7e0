/**
 * Binding a client certificate to a charge point (security profile 3).
 *
 * OCPP 2.0.1 Part 2 A00.FR.4xx / OCPP 1.6 Security Whitepaper §3: the charge point
 * certificate's subject commonName is the charge point's identity, and the CSMS must check
 * that it matches the identity the charge point connects as.
 */

/**
 * Exact, case-sensitive match of a certificate CN against the charge point id: ids are case
 * preserved everywhere else, and no wildcard or prefix matching (a CN of "*" or "CP" must not
 * open "CP1"). Byte-exact, with no Unicode normalisation: ids are byte-exact everywhere else
 * (topics, sessions, credentials), so a CN "Café" (NFC) that also opened "Cafe\u0301" (NFD)
 * would let one certificate act as two charge points.
 */
export function cnMatches (cid: string, cn: string | undefined): boolean {
  if (cn === undefined || cn === '' || cid === '') return false
  return cid === cn
}
