// @pushcorn/hocon-parser ships no types: the call src/config/load.ts makes.
declare module '@pushcorn/hocon-parser' {
  export default function parse (options: { url?: string, text?: string, strict?: boolean }): Promise<unknown>
}
