// @pushcorn/hocon-parser ships no types: the call src/config/sources.ts makes.
declare module '@pushcorn/hocon-parser' {
  export default function parse (options: { url?: string, text?: string, strict?: boolean, builder?: string }): Promise<unknown>
}
