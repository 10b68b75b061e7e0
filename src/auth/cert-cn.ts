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
 * open "CP1"). Both sides are compared in Unicode NFC so that one text written two ways
 * still matches.
 */
export function cnMatches (cid: string, cn: string | undefined): boolean {
  if (cn === undefined || cn === '' || cid === '') return false
  return cid.normalize('NFC') === cn.normalize('NFC')
}
