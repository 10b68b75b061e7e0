/**
 * `ocpp-gateway passwd`: edit a credentials file (format: src/auth/credentials-format.ts).
 *
 *   ocpp-gateway passwd add    --file F --id X [--password-stdin]   add or replace X
 *   ocpp-gateway passwd remove --file F --id X                      remove X
 *   ocpp-gateway passwd list   --file F                             print the ids
 *   ocpp-gateway passwd profile --file F --id X --min N             refuse X below security profile N
 *   ocpp-gateway passwd hash   [--password-stdin]                   print a hash for a password
 *   (add and hash take --scrypt-n N to change the scrypt cost, default 16384, and --hex: the
 *   password is given hex-encoded and stands for those bytes, as a 1.6 AuthorizationKey is set)
 *
 * Passwords are read from the terminal without echo (asked twice), or with
 * --password-stdin from the first line of standard input. They are never accepted as an
 * argument (they would end up in shell history and `ps`), and never printed.
 * The file is rewritten atomically (temporary file + rename, mode 0600), keeping comments.
 *
 * Exit codes: 0 done, 1 failed (id not found, unreadable file, …), 2 usage error.
 */
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { entryField, FILE_HEADER, invalidIdReason, listIds, parseCredentials, removeEntry, upsertEntry, type CredentialsTable } from '../auth/credentials-format.js'
import { DEFAULT_SCRYPT, hashPassword, type ScryptParams } from '../auth/password-hash.js'
import { writeAtomic } from '../util/write-atomic.js'

export interface PasswdIo {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean, setRawMode?: (raw: boolean) => unknown }
  stdout: NodeJS.WritableStream
  stderr: NodeJS.WritableStream
}

const USAGE = `usage: ocpp-gateway passwd <command> [options]
  add    --file F --id X [--password-stdin]   add a charge point, or replace its password
  remove --file F --id X                      remove a charge point
  list   --file F                             print the charge point ids
  profile --file F --id X --min N             refuse X on security profiles below N (0 = no minimum)
  hash   [--password-stdin]                   print the hash of a password
  --scrypt-n N   scrypt cost for add/hash (power of two, default 16384; lower only on weak hardware)
  --hex          the password is hex-encoded and means those bytes: the value a CSMS sends in a
                 1.6 ChangeConfiguration of AuthorizationKey (the charger sends the decoded bytes)
Passwords are asked on the terminal, or read from the first line of stdin with --password-stdin.
`

const MAX_PASSWORD_LENGTH = 1024

/** Bad arguments: the message and the usage, exit 2. */
export class UsageError extends Error {}
/** A refusal the user can act on (a file the gateway would reject…): the message, exit 1. */
export class CommandError extends Error {}
class PasswdError extends CommandError {}

/**
 * Run a file-editing command (`passwd`, `apikey`) and turn what it throws into a line on
 * stderr and an exit code: 2 for usage, 1 for a refusal or an I/O error (its code).
 */
export async function runCommand (name: string, usage: string, io: Pick<PasswdIo, 'stderr'>, run: () => Promise<number>): Promise<number> {
  try {
    return await run()
  } catch (e) {
    if (e instanceof UsageError) { io.stderr.write(`${name}: ${e.message}\n${usage}`); return 2 }
    if (e instanceof CommandError) { io.stderr.write(`${name}: ${e.message}\n`); return 1 }
    const code = (e as NodeJS.ErrnoException).code
    io.stderr.write(`${name}: ${code !== undefined ? code : (e as Error).message}\n`)
    return 1
  }
}

export async function passwdMain (argv: string[], io: PasswdIo = process): Promise<number> {
  return runCommand('passwd', USAGE, io, () => run(argv, io))
}

async function run (argv: string[], io: PasswdIo): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        file: { type: 'string', short: 'f' },
        id: { type: 'string' },
        'password-stdin': { type: 'boolean' },
        'scrypt-n': { type: 'string' },
        hex: { type: 'boolean' },
        min: { type: 'string' },
        help: { type: 'boolean', short: 'h' }
      }
    })
  } catch (e) {
    throw new UsageError((e as Error).message.split('\n')[0] ?? 'bad arguments')
  }
  const { values, positionals } = parsed
  if (values.help === true) { io.stdout.write(USAGE); return 0 }
  const [command, ...rest] = positionals
  if (rest.length > 0) throw new UsageError(`unexpected argument(s) after ${command ?? ''}; passwords are never taken as arguments`)
  const file = values.file
  const needFile = (): string => {
    if (file === undefined || file === '') throw new UsageError('--file is required')
    return resolve(file)
  }
  const needId = (): string => {
    const id = values.id
    if (id === undefined) throw new UsageError('--id is required')
    const bad = invalidIdReason(id)
    if (bad !== undefined) throw new UsageError(`invalid --id: ${bad}`)
    return id
  }
  const stdinPw = values['password-stdin'] === true
  const asBytes = (pw: string): string | Buffer => values.hex === true ? hexPassword(pw) : pw
  const params: ScryptParams = { ...DEFAULT_SCRYPT }
  if (values['scrypt-n'] !== undefined) {
    const n = Number(values['scrypt-n'])
    if (!Number.isInteger(n) || n < 1024 || n > (1 << 20) || (n & (n - 1)) !== 0) throw new UsageError('--scrypt-n must be a power of two from 1024 to 1048576')
    params.N = n
  }

  switch (command) {
    case 'add': {
      const path = needFile()
      const id = needId()
      const text = await readExisting(path)
      const password = asBytes(await readPassword(io, stdinPw))
      // A new password replaces any pending change; the entry's profile settings stay.
      const existing = text === '' ? undefined : tableOf(text).get(id)
      const result = upsertEntry(text === '' ? FILE_HEADER : text, id, entryField([await hashPassword(password, params)], existing))
      await writeAtomic(path, result.text)
      io.stdout.write(`${result.updated ? 'updated' : 'added'} ${id}\n`)
      return 0
    }
    case 'profile': {
      const path = needFile()
      const id = needId()
      const min = Number(values.min)
      if (values.min === undefined || !/^[0-3]$/.test(values.min)) throw new UsageError('--min must be a security profile, 0 to 3')
      const text = await readExisting(path)
      const entry = tableOf(text).get(id)
      if (entry === undefined) throw new PasswdError(`no entry for ${id}`)
      // The operator's minimum wins over a pending upgrade to the same or a lower profile.
      const settings = { minProfile: min as 0 | 1 | 2 | 3, ...(entry.upgrade !== undefined && entry.upgrade > min ? { upgrade: entry.upgrade } : {}) }
      await writeAtomic(path, upsertEntry(text, id, entryField(entry.hashes.map((h) => h.hash), settings)).text)
      io.stdout.write(`${id}: min_profile ${min}\n`)
      return 0
    }
    case 'remove': {
      const path = needFile()
      const id = needId()
      const text = await readExisting(path)
      const result = removeEntry(text, id)
      if (!result.removed) throw new PasswdError(`no entry for ${id}`)
      await writeAtomic(path, result.text)
      io.stdout.write(`removed ${id}\n`)
      return 0
    }
    case 'list': {
      const path = needFile()
      const text = await readFile(path, 'utf8')
      const check = parseCredentials(text)
      for (const id of listIds(text)) io.stdout.write(`${id}\n`)
      if (!check.ok) { io.stderr.write(`passwd: warning: line ${check.line}: ${check.message}; the gateway will refuse this file\n`); return 1 }
      return 0
    }
    case 'hash': {
      io.stdout.write(`${await hashPassword(asBytes(await readPassword(io, stdinPw)), params)}\n`)
      return 0
    }
    case undefined:
      throw new UsageError('missing command')
    default:
      throw new UsageError(`unknown command ${command}`)
  }
}

/**
 * The file's text, '' when it does not exist yet; refuses (`refuse(message)` is thrown) to edit
 * a file the gateway would reject by `parse`. Shared by `passwd` and `apikey`.
 */
export async function readEditable (path: string, parse: (text: string) => { ok: true } | { ok: false, line: number, message: string }, refuse: (message: string) => Error): Promise<string> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return ''
    throw e
  }
  const check = parse(text)
  if (!check.ok) throw refuse(`${path} line ${check.line}: ${check.message}; fix it first`)
  return text
}

/** The table of a file readExisting() has checked. */
function tableOf (text: string): CredentialsTable {
  const r = parseCredentials(text)
  return r.ok ? r.table : new Map()
}

const readExisting = (path: string): Promise<string> => readEditable(path, parseCredentials, (m) => new PasswdError(m))

/** Rewrite a file atomically (temporary file + rename), mode 0600: src/util/write-atomic.ts. */
export { writeAtomic }

function checkPassword (pw: string): string {
  if (pw === '') throw new PasswdError('empty password')
  if (pw.length > MAX_PASSWORD_LENGTH) throw new PasswdError(`password longer than ${MAX_PASSWORD_LENGTH} characters`)
  return pw
}

/** The bytes a hex-encoded password stands for (1.6 AuthorizationKey). */
function hexPassword (hex: string): Buffer {
  const h = hex.trim()
  if (h.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(h)) throw new PasswdError('--hex: the password must be an even number of hex digits')
  return Buffer.from(h, 'hex')
}

async function readPassword (io: PasswdIo, fromStdin: boolean): Promise<string> {
  if (fromStdin) return checkPassword(await readFirstLine(io.stdin))
  if (io.stdin.isTTY !== true || io.stdin.setRawMode === undefined) {
    throw new UsageError('standard input is not a terminal: use --password-stdin')
  }
  const a = await promptHidden(io, 'Password: ')
  const b = await promptHidden(io, 'Repeat password: ')
  if (a !== b) throw new PasswdError('passwords do not match')
  return checkPassword(a)
}

async function readFirstLine (stream: NodeJS.ReadableStream): Promise<string> {
  let buf = ''
  for await (const chunk of stream) {
    buf += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8')
    const nl = buf.indexOf('\n')
    if (nl >= 0) { buf = buf.slice(0, nl); break }
    if (buf.length > MAX_PASSWORD_LENGTH * 4) break
  }
  return buf.replace(/\r$/, '')
}

/** Read one line from a terminal in raw mode, echoing nothing. */
function promptHidden (io: PasswdIo, prompt: string): Promise<string> {
  io.stderr.write(prompt)
  const stdin = io.stdin
  return new Promise((resolve, reject) => {
    let pw = ''
    const done = (err?: Error): void => {
      stdin.removeListener('data', onData)
      stdin.setRawMode?.(false)
      stdin.pause()
      io.stderr.write('\n')
      err !== undefined ? reject(err) : resolve(pw)
    }
    const onData = (chunk: Buffer | string): void => {
      for (const ch of chunk.toString()) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return done()
        if (ch === '\u0003') return done(new PasswdError('interrupted'))
        if (ch === '\u007f' || ch === '\b') pw = pw.slice(0, -1)
        else pw += ch
      }
    }
    stdin.setRawMode?.(true)
    stdin.resume()
    stdin.on('data', onData)
  })
}

// Runnable on its own: node dist/src/cli/passwd.js add --file F --id X
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = await passwdMain(process.argv.slice(2))
}
