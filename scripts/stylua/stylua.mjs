// StyLua for this repository without a native binary: the npm package @johnnymorganz/stylua is StyLua
// compiled to WebAssembly, a library with no command line. This is the command line.
//
// usage: node stylua.mjs [--check] [--config stylua.toml] PATH...
//   PATH: .lua files, or directories searched recursively for them.
//   Without --check, files that are not formatted are rewritten (and listed).
//   With --check, nothing is written; each unformatted file is listed with a diff, and the exit status is 1.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const stylua = require('@johnnymorganz/stylua');

function parseToml(text) {
  // The subset stylua.toml uses: `key = value` lines (strings, numbers, booleans) and [tables].
  const out = {};
  let table = out;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) continue;
    const section = line.match(/^\[([A-Za-z_]+)\]$/);
    if (section) {
      table = out[section[1]] = {};
      continue;
    }
    const kv = line.match(/^([A-Za-z_]+)\s*=\s*(.+)$/);
    if (!kv) throw new Error(`stylua.toml: cannot read line: ${raw}`);
    let value = kv[2].trim();
    if (/^".*"$/.test(value) || /^'.*'$/.test(value)) value = value.slice(1, -1);
    else if (value === 'true' || value === 'false') value = value === 'true';
    else if (/^\d+$/.test(value)) value = Number(value);
    else throw new Error(`stylua.toml: unsupported value: ${raw}`);
    table[kv[1]] = value;
  }
  return out;
}

function enumValue(enumType, name, key) {
  if (!(name in enumType)) throw new Error(`stylua.toml: ${key} = "${name}" is not one of ${Object.keys(enumType).filter((k) => isNaN(k)).join(', ')}`);
  return enumType[name];
}

function makeConfig(settings) {
  const config = stylua.Config.new();
  const enums = {
    line_endings: stylua.LineEndings,
    indent_type: stylua.IndentType,
    quote_style: stylua.QuoteStyle,
    call_parentheses: stylua.CallParenType,
    collapse_simple_statement: stylua.CollapseSimpleStatement,
    space_after_function_names: stylua.SpaceAfterFunctionNames,
    block_newline_gaps: stylua.BlockNewlineGaps,
    syntax: stylua.LuaVersion,
  };
  for (const [key, value] of Object.entries(settings)) {
    if (key === 'sort_requires') {
      config.sort_requires = stylua.SortRequiresConfig.new().set_enabled(Boolean(value.enabled));
    } else if (key in enums) {
      config[key] = enumValue(enums[key], value, key);
    } else if (key === 'column_width' || key === 'indent_width' || key === 'no_call_parentheses') {
      config[key] = value;
    } else {
      throw new Error(`stylua.toml: unknown key ${key}`);
    }
  }
  return config;
}

function luaFiles(p) {
  const st = fs.statSync(p);
  if (st.isFile()) return [p];
  const out = [];
  for (const entry of fs.readdirSync(p, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const child = path.join(p, entry.name);
    if (entry.isDirectory()) out.push(...luaFiles(child));
    else if (entry.name.endsWith('.lua')) out.push(child);
  }
  return out;
}

// A plain line diff: the first differing region of each file, enough to see what the formatter wants.
function briefDiff(before, after) {
  const a = before.split('\n');
  const b = after.split('\n');
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length - 1;
  let endB = b.length - 1;
  while (endA > start && endB > start && a[endA] === b[endB]) {
    endA--;
    endB--;
  }
  const lines = [`@@ line ${start + 1}`];
  for (const l of a.slice(start, Math.min(endA + 1, start + 12))) lines.push(`- ${l}`);
  for (const l of b.slice(start, Math.min(endB + 1, start + 12))) lines.push(`+ ${l}`);
  return lines.join('\n');
}

const args = process.argv.slice(2);
let check = false;
let configPath = 'stylua.toml';
const paths = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--check') check = true;
  else if (args[i] === '--config') configPath = args[++i];
  else paths.push(args[i]);
}
if (paths.length === 0) {
  console.error('usage: node stylua.mjs [--check] [--config stylua.toml] PATH...');
  process.exit(2);
}

const settings = parseToml(fs.readFileSync(configPath, 'utf8'));
let unformatted = 0;
let failed = 0;
for (const file of paths.flatMap(luaFiles)) {
  const before = fs.readFileSync(file, 'utf8');
  let after;
  try {
    // formatCode takes the Config by value (wasm-bindgen frees it): a fresh one per file.
    after = stylua.formatCode(before, makeConfig(settings), undefined, stylua.OutputVerification.None);
  } catch (e) {
    console.error(`${file}: ${e}`);
    failed++;
    continue;
  }
  if (after === before) continue;
  unformatted++;
  if (check) {
    console.log(`${file}: not formatted\n${briefDiff(before, after)}`);
  } else {
    fs.writeFileSync(file, after);
    console.log(`formatted ${file}`);
  }
}
process.exit(failed ? 2 : check && unformatted ? 1 : 0);
