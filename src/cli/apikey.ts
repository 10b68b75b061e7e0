/**
 * `ocpp-gateway apikey`: edit the admin API keys file (format: src/admin/api-keys.ts).
 *
 *   ocpp-gateway apikey add    --file F --name N [--role admin|viewer]
 *                                                a new key for N (replacing N's), printed once
 *   ocpp-gateway apikey remove --file F --name N   remove N's key
 *   ocpp-gateway apikey list   --file F            print the names (a viewer's marked)
 *
 * The key is printed once on standard output and never stored: the file keeps its SHA-256.
 * The file is rewritten atomically (mode 0600), keeping comments. The gateway reads it at
 * start and on SIGHUP.
 *
 * Exit codes: 0 done, 1 failed (name not found, unreadable file, …), 2 usage error.
 */
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { invalidIdReason, listIds, removeEntry, upsertEntry } from '../auth/credentials-format.js'
import { API_KEY_ROLES, hashApiKey, newApiKey, parseApiKeys, type ApiKeyRole } from '../admin/api-keys.js'
import { CommandError, readEditable, runCommand, UsageError, writeAtomic, type PasswdIo } from './passwd.js'

const USAGE = `usage: ocpp-gateway apikey <command> [options]
  add    --file F --name N [--role admin|viewer]
                             create a key for N (or replace N's); the key is printed once.
                             admin (default): every request; viewer: GET only
  remove --file F --name N   remove N's key
  list   --file F            print the names
Requests to the admin API send: Authorization: Bearer KEY
`

const HEADER =
  '# ocpp-gateway admin API keys: one per line, "<name>:sha256$<digest>[;role=viewer]".\n' +
  '# Edit with: ocpp-gateway apikey add|remove|list --file <this file>\n'

class ApiKeyError extends CommandError {}

export async function apikeyMain (argv: string[], io: Omit<PasswdIo, 'stdin'> = process): Promise<number> {
  return runCommand('apikey', USAGE, io, () => run(argv, io))
}

async function run (argv: string[], io: Omit<PasswdIo, 'stdin'>): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: { file: { type: 'string', short: 'f' }, name: { type: 'string' }, role: { type: 'string' }, help: { type: 'boolean', short: 'h' } }
    })
  } catch (e) {
    throw new UsageError((e as Error).message.split('\n')[0] ?? 'bad arguments')
  }
  const { values, positionals } = parsed
  if (values.help === true) { io.stdout.write(USAGE); return 0 }
  const [command, ...rest] = positionals
  if (rest.length > 0) throw new UsageError(`unexpected argument(s) after ${command ?? ''}`)
  const needFile = (): string => {
    if (values.file === undefined || values.file === '') throw new UsageError('--file is required')
    return resolve(values.file)
  }
  const needName = (): string => {
    const name = values.name
    if (name === undefined) throw new UsageError('--name is required')
    const bad = invalidIdReason(name)
    if (bad !== undefined) throw new UsageError(`invalid --name: ${bad.replace(/\bid\b/, 'name')}`)
    return name
  }
  if (values.role !== undefined && command !== 'add') throw new UsageError('--role is for add only')
  const role = values.role ?? 'admin'
  if (!API_KEY_ROLES.includes(role as ApiKeyRole)) throw new UsageError(`invalid --role: ${role} (admin or viewer)`)
  switch (command) {
    case 'add': {
      const path = needFile()
      const name = needName()
      const text = await readExisting(path)
      const key = newApiKey()
      const result = upsertEntry(text === '' ? HEADER : text, name, hashApiKey(key, role as ApiKeyRole))
      await writeAtomic(path, result.text)
      io.stderr.write(`${result.updated ? 'replaced the key of' : 'added'} ${name} (${role}); the key (shown only now):\n`)
      io.stdout.write(`${key}\n`)
      return 0
    }
    case 'remove': {
      const path = needFile()
      const name = needName()
      const result = removeEntry(await readExisting(path), name)
      if (!result.removed) throw new ApiKeyError(`no key named ${name}`)
      await writeAtomic(path, result.text)
      io.stdout.write(`removed ${name}\n`)
      return 0
    }
    case 'list': {
      const text = await readFile(needFile(), 'utf8')
      const check = parseApiKeys(text)
      // A viewer is marked; an admin key (the default) is the name alone, as before roles.
      for (const name of listIds(text)) io.stdout.write(check.ok && check.keys.get(name)?.role === 'viewer' ? `${name} (viewer)\n` : `${name}\n`)
      if (!check.ok) { io.stderr.write(`apikey: warning: line ${check.line}: ${check.message}; the gateway will refuse this file\n`); return 1 }
      return 0
    }
    case undefined:
      throw new UsageError('missing command')
    default:
      throw new UsageError(`unknown command ${command}`)
  }
}

/** The file's text, '' when it does not exist yet; refuses to edit a file the gateway would reject. */
const readExisting = (path: string): Promise<string> => readEditable(path, parseApiKeys, (m) => new ApiKeyError(m))
