// A scripted LSP client on vscode-languageserver-protocol (the library VS Code's clients are built on)
// against `glm-server --lsp` and glm-mock-provider: inline completion, incremental sync with multi-byte
// text under utf-8 and utf-16, cancellation, configuration change, errors.
//   node tests/lsp/client.mjs GLM_SERVER GLM_MOCK_PROVIDER
// Prints "ok: ..." per check; exits 1 on the first failure.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import {
  createProtocolConnection,
  StreamMessageReader,
  StreamMessageWriter,
  InitializeRequest,
  InitializedNotification,
  InlineCompletionRequest,
  CompletionRequest,
  DidOpenTextDocumentNotification,
  DidChangeTextDocumentNotification,
  DidChangeConfigurationNotification,
  ShutdownRequest,
  ExitNotification,
  CancellationTokenSource,
  ErrorCodes,
  LSPErrorCodes,
} from 'vscode-languageserver-protocol/node';

const [serverBin, mockBin] = process.argv.slice(2);
if (!serverBin || !mockBin) {
  console.error('usage: client.mjs GLM_SERVER GLM_MOCK_PROVIDER');
  process.exit(2);
}
const tmp = mkdtempSync(join(tmpdir(), 'glm-lsp-node-'));
const record = join(tmp, 'mock-record.jsonl');
const children = [];
function cleanup() {
  for (const c of children) c.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
}
function fail(msg) {
  console.log(`FAIL: ${msg}`);
  cleanup();
  process.exit(1);
}
function ok(cond, what) {
  if (!cond) fail(what);
  console.log(`ok: ${what}`);
}

async function startMock() {
  const mock = spawn(mockBin, ['--lifetime-s', '300', '--record', record], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(mock);
  const rl = createInterface({ input: mock.stdout });
  return new Promise((resolve, reject) => {
    rl.on('line', (l) => {
      const m = /^PORT (\d+)/.exec(l);
      if (m) resolve(Number(m[1]));
    });
    mock.on('exit', () => reject(new Error('mock exited')));
  });
}

function config(port, completionModel = 'zhipu/codegeex-4') {
  return {
    default_model: 'openai/glm-4',
    completion: { model: completionModel },
    providers: {
      openai: { base_url: `http://127.0.0.1:${port}/v1` },
      zhipu: { base_url: `http://127.0.0.1:${port}/api/paas/v4`, api_key: 'zk-test.secret' },
    },
  };
}

async function startServer(port, encodings) {
  const proc = spawn(serverBin, ['--lsp'], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, XDG_CACHE_HOME: join(tmp, 'cache'), OPENAI_API_KEY: 'sk-test' },
  });
  children.push(proc);
  const conn = createProtocolConnection(new StreamMessageReader(proc.stdout), new StreamMessageWriter(proc.stdin));
  const messages = [];
  conn.onNotification((method, params) => messages.push({ method, params }));
  conn.onRequest((method) => (method === 'window/showDocument' ? { success: true } : null));
  conn.listen();
  const init = await conn.sendRequest(InitializeRequest.type, {
    processId: process.pid,
    rootUri: null,
    clientInfo: { name: 'glm-node-test', version: '1' },
    capabilities: {
      general: { positionEncodings: encodings },
      textDocument: { inlineCompletion: {}, synchronization: {} },
      window: { workDoneProgress: true, showDocument: { support: true } },
      workspace: { applyEdit: true, configuration: false },
    },
    initializationOptions: { config: config(port) },
  });
  await conn.sendNotification(InitializedNotification.type, {});
  return { proc, conn, init, messages };
}

const inline = (conn, uri, line, character, token) =>
  conn.sendRequest(
    InlineCompletionRequest.type,
    { textDocument: { uri }, position: { line, character }, context: { triggerKind: 2 } },
    token,
  );

async function main() {
  const port = await startMock();

  // 1. Inline completion and incremental sync with CJK and emoji, under both encodings. The mock's
  //    CodeGeeX FIM answer names the prefix/suffix byte lengths it received: they show exactly where
  //    the server put the cursor after the edits.
  for (const enc of ['utf-8', 'utf-16']) {
    const { conn, init } = await startServer(port, enc === 'utf-8' ? ['utf-8', 'utf-16'] : ['utf-16']);
    ok(init.capabilities.positionEncoding === enc, `${enc}: negotiated`);
    ok(init.capabilities.inlineCompletionProvider !== undefined, `${enc}: inline completion advertised`);
    const uri = `file://${tmp}/demo-${enc}.py`;
    const text = '# 注释 😀\nx = "日本"\n';
    await conn.sendNotification(DidOpenTextDocumentNotification.type, {
      textDocument: { uri, languageId: 'python', version: 1, text },
    });
    const u8 = enc === 'utf-8';
    // Insert "😀語" after 日本 on line 1 (utf-8: 5+3+3 = 11; utf-16: 5+1+1 = 7), then add a line.
    const col = u8 ? 11 : 7;
    await conn.sendNotification(DidChangeTextDocumentNotification.type, {
      textDocument: { uri, version: 2 },
      contentChanges: [
        { range: { start: { line: 1, character: col }, end: { line: 1, character: col } }, text: '😀語' },
        { range: { start: { line: 2, character: 0 }, end: { line: 2, character: 0 } }, text: 'y = x\n' },
      ],
    });
    // The cursor right after 😀語 (utf-8: 11+4+3 = 18; utf-16: 7+2+1 = 10).
    const cursor = u8 ? 18 : 10;
    const result = await inline(conn, uri, 1, cursor);
    const items = Array.isArray(result) ? result : result.items;
    ok(items.length >= 1, `${enc}: an inline completion item`);
    const prefix = '# 注释 😀\nx = "日本😀語';
    const suffix = '"\ny = x\n';
    const want = `<fim lang=python prefix=${Buffer.byteLength(prefix)} suffix=${Buffer.byteLength(suffix)}>`;
    ok(items[0].insertText === want, `${enc}: the server's text matches the client's after incremental edits (${items[0].insertText})`);
    ok(
      items[0].range.start.line === 1 && items[0].range.start.character === cursor,
      `${enc}: the item is inserted at the cursor, in ${enc} units`,
    );
    // textDocument/completion gives the same suggestion as one item.
    const list = await conn.sendRequest(CompletionRequest.type, { textDocument: { uri }, position: { line: 2, character: 5 } });
    ok(list.items.length === 1 && list.items[0].textEdit.newText.startsWith('x'), `${enc}: one completion item keeps the typed word`);
    await conn.sendRequest(ShutdownRequest.type);
    await conn.sendNotification(ExitNotification.type);
  }

  const { conn, messages } = await startServer(port, ['utf-16']);
  const uri = `file://${tmp}/slow.py`;
  await conn.sendNotification(DidOpenTextDocumentNotification.type, {
    textDocument: { uri, languageId: 'python', version: 1, text: '# mock:stall_first_ms=5000\ndef f():\n    ' },
  });

  // 2. $/cancelRequest: the request answers RequestCancelled at once.
  {
    const source = new CancellationTokenSource();
    const started = Date.now();
    const pending = inline(conn, uri, 2, 4, source.token);
    setTimeout(() => source.cancel(), 100);
    let error;
    try {
      await pending;
    } catch (e) {
      error = e;
    }
    ok(error && error.code === LSPErrorCodes.RequestCancelled, `cancel: RequestCancelled (${error && error.code})`);
    ok(Date.now() - started < 2000, `cancel: answered in ${Date.now() - started} ms, not after the stalled upstream`);
  }

  // 3. Latest wins per document: a newer request cancels the older one.
  {
    const first = inline(conn, uri, 2, 4).then(
      () => 'answered',
      (e) => e.code,
    );
    await new Promise((r) => setTimeout(r, 50));
    const second = inline(conn, uri, 2, 4).catch((e) => e.code);
    ok((await first) === LSPErrorCodes.RequestCancelled, 'latest wins: the older request is cancelled');
    void second;
  }

  // 4. An upstream error is RequestFailed (-32803) with the kind of docs/protocol.md.
  const uri2 = `file://${tmp}/fast.py`;
  await conn.sendNotification(DidOpenTextDocumentNotification.type, {
    textDocument: { uri: uri2, languageId: 'python', version: 1, text: '# mock:error=429\ndef g():\n    ' },
  });
  let err;
  try {
    await inline(conn, uri2, 2, 4);
  } catch (e) {
    err = e;
  }
  ok(err && err.code === -32803 && err.data && err.data.kind === 'rate_limit',
    `upstream error: RequestFailed with data.kind rate_limit (${err && err.code} ${err && err.data && err.data.kind})`);

  // 5. Configuration change: the completion model moves to another provider (the mock's record shows
  //    where the next request went).
  const uri3 = `file://${tmp}/conf.py`;
  await conn.sendNotification(DidOpenTextDocumentNotification.type, {
    textDocument: { uri: uri3, languageId: 'python', version: 1, text: 'def h():\n    ' },
  });
  const lastPath = () => {
    const lines = readFileSync(record, 'utf8').trim().split('\n');
    return JSON.parse(lines[lines.length - 1]).path;
  };
  await inline(conn, uri3, 1, 4);
  ok(lastPath() === '/api/paas/v4/chat/completions', `codegeex-4 on zhipu first (${lastPath()})`);
  await conn.sendNotification(DidChangeConfigurationNotification.type, {
    settings: { glm: { config: { completion: { model: 'openai/glm-4' } } } },
  });
  await inline(conn, uri3, 1, 4);
  ok(lastPath() === '/v1/chat/completions', `after didChangeConfiguration: openai/glm-4 (${lastPath()})`);
  ok(!messages.some((m) => m.method === 'window/showMessage'), 'no error message for valid configurations');

  await conn.sendRequest(ShutdownRequest.type);
  await conn.sendNotification(ExitNotification.type);
  void ErrorCodes;
  console.log('all passed');
  cleanup();
  process.exit(0);
}

main().catch((e) => fail(e && e.stack ? e.stack : String(e)));
