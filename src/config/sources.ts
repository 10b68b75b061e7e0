/**
 * Where configuration layers come from: files (YAML, JSON, HOCON) and the environment, and the
 * tree helpers they share with ./load.ts (which validates and builds the configuration).
 */
import { readFileSync } from 'node:fs'
import { parse as parseYaml } from 'yaml'
import parseHocon from '@pushcorn/hocon-parser'
import { ConfigError } from './config-error.js'

export type Tree = Record<string, unknown>

export function isTree (v: unknown): v is Tree {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

export function deepMerge (base: Tree, over: Tree): Tree {
  const out: Tree = { ...base }
  for (const [k, v] of Object.entries(over)) {
    const b = out[k]
    out[k] = isTree(b) && isTree(v) ? deepMerge(b, v) : v
  }
  return out
}

/** Set `a.b.c` in a tree, creating objects on the way. */
export function setPath (tree: Tree, path: string, value: unknown): void {
  const keys = path.split('.')
  let node = tree
  for (const key of keys.slice(0, -1)) {
    const next = node[key]
    if (!isTree(next)) node[key] = {}
    node = node[key] as Tree
  }
  node[keys[keys.length - 1] as string] = value
}

/** Parse a scalar from env/flags: JSON when it parses (numbers, booleans, arrays), else the text. */
export function parseScalar (text: string): unknown {
  try { return JSON.parse(text) } catch { return text }
}

const isHocon = (file: string): boolean => /\.(conf|hocon)$/i.test(file)

/**
 * A config file of any kind: HOCON (`.conf`, `.hocon`: EMQX's format, with its includes and
 * substitutions), JSON (`.json`) or YAML (anything else). An EMQX file's `gateway.ocpp` block is
 * taken, or the whole file when it has none.
 */
export async function loadConfigFile (file: string): Promise<Tree> {
  if (!isHocon(file)) return readConfigFile(file)
  let value: unknown
  try {
    // builder 'config': the parser picks its builder by extension and would read a `.hocon`
    // file as one string.
    value = await parseHocon({ url: file, strict: true, builder: 'config' })
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    throw new ConfigError(e.code === 'ENOENT' ? `cannot read config file ${file}: ${e.message}` : `config file ${file} is not valid HOCON: ${e.message}`)
  }
  return configRoot(value, file)
}

function configRoot (value: unknown, file: string): Tree {
  if (value == null) return {}
  if (!isTree(value)) throw new ConfigError(`config file ${file} must hold a mapping of keys`)
  // Accept EMQX's nesting too: gateway.ocpp.{...}
  const gw = value.gateway
  if (!isTree(gw) || !isTree(gw.ocpp)) return value
  // EMQX's one broker-wide key that the gateway's own broker has too (emqx-compat.ts).
  const strategy = isTree(value.broker) ? value.broker.shared_subscription_strategy : undefined
  return strategy === undefined ? gw.ocpp : { ...gw.ocpp, broker: { shared_subscription_strategy: strategy } }
}

/** A YAML or JSON config file (synchronous); a HOCON one needs {@link loadConfigFile}. */
export function readConfigFile (file: string): Tree {
  if (isHocon(file)) throw new ConfigError(`config file ${file} is HOCON: read it with loadConfigFile()`)
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`)
  }
  let value: unknown
  try {
    value = /\.json$/i.test(file) ? JSON.parse(text) : parseYaml(text)
  } catch (err) {
    throw new ConfigError(`config file ${file} is not valid ${/\.json$/i.test(file) ? 'JSON' : 'YAML'}: ${(err as Error).message}`)
  }
  return configRoot(value, file)
}

/**
 * Environment: OCPP_GW_<KEY> with `__` between levels, e.g.
 * OCPP_GW_DNSTREAM__MAX_MQUEUE_LEN=50, OCPP_GW_MQTT__URL=mqtt://broker:1883; and EMQX's form
 * for the gateway's keys, EMQX_GATEWAY__OCPP__<KEY> (EMQX_GATEWAY__OCPP__MOUNTPOINT=ocpp/).
 * Ours wins where both name one key.
 */
export function configFromEnv (env: NodeJS.ProcessEnv): Tree {
  const emqx: Tree = {}
  const ours: Tree = {}
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue
    for (const [prefix, tree] of [['EMQX_GATEWAY__OCPP__', emqx], ['OCPP_GW_', ours]] as const) {
      if (!name.startsWith(prefix) || name === 'OCPP_GW_CONFIG' || name.length === prefix.length) continue
      setPath(tree, name.slice(prefix.length).toLowerCase().split('__').join('.'), parseScalar(value))
    }
  }
  return deepMerge(emqx, ours)
}
