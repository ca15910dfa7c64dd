import { randomBytes } from 'node:crypto';
import path from 'node:path';
import {
  fail,
  invalid,
  list,
  missing,
  nowSeconds,
  slackId,
  text,
  type Answer,
  type Args,
} from './slack-answers';
import type { SimulatedConversations } from './slack-conversations';

/**
 * Slack's external file upload, the three steps `WebClient.filesUploadV2` takes:
 *
 * 1. files.getUploadURLExternal (filename, length) answers an `upload_url` and a `file_id`;
 * 2. the bytes are POSTed to that URL, raw or as a multipart form (the Web API client sends
 *    a form with the file as its `body` field; curl's `-F filename=@file` works too), which
 *    answers `200 OK - <size>`;
 * 3. files.completeUploadExternal (files=[{id, title}], channel_id or channels, thread_ts,
 *    initial_comment or blocks) shares the files into each channel, or its thread, as one
 *    message carrying them under `files`; without a channel the files stay private.
 *
 * The files are kept with their bytes, for tests to read what the bot uploaded.
 */

export interface SimulatedFileShare {
  channel: string;
  /** The message that shared the file. */
  ts: string;
  threadTs?: string;
}

export interface SimulatedFile {
  id: string;
  /** The filename given to files.getUploadURLExternal. */
  name: string;
  /** The title completeUploadExternal gave it; the filename until then, and without one. */
  title: string;
  /** The length given to files.getUploadURLExternal. */
  length: number;
  /** What was POSTed to the upload URL; absent until then. */
  bytes?: Buffer;
  /** awaiting_upload → uploaded → complete. */
  state: 'awaiting_upload' | 'uploaded' | 'complete';
  user: string;
  created: number;
  altText?: string;
  snippetType?: string;
  /** The channel it was shared to first, and the thread there, if any. */
  channel?: string;
  threadTs?: string;
  initialComment?: string;
  shares: SimulatedFileShare[];
}

export interface FilesContext {
  bot: string;
  teamId: string;
  origin: () => string;
  conversations: SimulatedConversations;
  /** Posts the message that shares `files` (Slack's file objects) in a channel, as the bot. */
  share: (channel: string, threadTs: string | undefined, message: FileShareMessage) => string;
  /** A file was uploaded or completed. */
  changed: (file: SimulatedFile) => void;
}

/** The message that shares files in a channel. */
export interface FileShareMessage {
  text: string;
  blocks: unknown[];
  /** Slack's file objects. */
  files: Record<string, unknown>[];
}

export interface UploadAnswer {
  status: number;
  body: string;
}

/** files.completeUploadExternal shares into 100 channels at most. */
const CHANNELS_MAX = 100;

const TYPES: Record<string, { mimetype: string; filetype: string; pretty: string }> = {
  '.md': { mimetype: 'text/markdown', filetype: 'markdown', pretty: 'Markdown (raw)' },
  '.txt': { mimetype: 'text/plain', filetype: 'text', pretty: 'Plain Text' },
  '.log': { mimetype: 'text/plain', filetype: 'text', pretty: 'Plain Text' },
  '.json': { mimetype: 'application/json', filetype: 'json', pretty: 'JSON' },
  '.yaml': { mimetype: 'text/plain', filetype: 'yaml', pretty: 'YAML' },
  '.csv': { mimetype: 'text/csv', filetype: 'csv', pretty: 'CSV' },
  '.png': { mimetype: 'image/png', filetype: 'png', pretty: 'PNG' },
  '.pdf': { mimetype: 'application/pdf', filetype: 'pdf', pretty: 'PDF' },
};
const BINARY = { mimetype: 'application/octet-stream', filetype: 'binary', pretty: 'Binary' };

export class SimulatedFiles {
  readonly list: SimulatedFile[] = [];
  private readonly tickets = new Map<string, SimulatedFile>();

  constructor(private readonly ctx: FilesContext) {}

  find(id: string): SimulatedFile | undefined {
    return this.list.find((f) => f.id === id);
  }

  /** files.getUploadURLExternal */
  getUploadURL(args: Args): Answer {
    const filename = text(args, 'filename');
    if (filename === undefined) return missing('filename');
    const rawLength = text(args, 'length');
    if (rawLength === undefined) return missing('length');
    const length = Number(rawLength);
    if (!Number.isInteger(length) || length < 0) return invalid('[ERROR] length must be a whole number');
    // Slack: "Typically only occurs when the length provided is 0."
    if (length === 0 || filename.trim() === '') return fail('missing_argument');
    // Slack reads `alt_txt` alone; `alt_text` (what @slack/web-api 8.2 sends) is ignored.
    const altText = text(args, 'alt_txt');
    if (altText !== undefined && altText.length > 1000) return fail('alt_txt_too_large');
    const snippetType = text(args, 'snippet_type');
    const file: SimulatedFile = {
      id: slackId('F'),
      name: filename,
      title: filename,
      length,
      state: 'awaiting_upload',
      user: this.ctx.bot,
      created: nowSeconds(),
      ...(altText ? { altText } : {}),
      ...(snippetType ? { snippetType } : {}),
      shares: [],
    };
    const ticket = randomBytes(12).toString('hex');
    this.tickets.set(ticket, file);
    this.list.push(file);
    return { ok: true, upload_url: `${this.ctx.origin()}/upload/v1/${ticket}`, file_id: file.id };
  }

  /** The POST of the bytes to an upload URL. */
  async receive(ticket: string, contentType: string | undefined, body: Buffer): Promise<UploadAnswer> {
    const file = this.tickets.get(ticket);
    if (!file || file.state === 'complete') return { status: 404, body: 'upload URL not found' };
    const bytes = contentType?.startsWith('multipart/form-data')
      ? await firstFormFile(contentType, body)
      : body;
    if (bytes === undefined) return { status: 400, body: 'no file in the form' };
    file.bytes = bytes;
    file.state = 'uploaded';
    this.ctx.changed(file);
    return { status: 200, body: `OK - ${bytes.length}` };
  }

  /** files.completeUploadExternal */
  complete(args: Args): Answer {
    const entries = parseFiles(args.files);
    if (entries === undefined) return missing('files');
    if (entries.length === 0) return invalid('[ERROR] files must list at least one file');
    const files: Array<{ file: SimulatedFile; title?: string }> = [];
    for (const entry of entries) {
      const file = this.find(entry.id);
      if (!file || file.state !== 'uploaded') return fail('file_not_found');
      files.push({ file, ...(entry.title ? { title: entry.title } : {}) });
    }
    const channels = [...new Set([...list(args.channel_id), ...list(args.channels)])];
    if (channels.length > CHANNELS_MAX) return fail('channels_limit_exceeded');
    for (const channel of channels) {
      const refusal = this.ctx.conversations.shareRefusal(channel);
      if (refusal) return fail(refusal);
    }
    const threadTs = text(args, 'thread_ts') || undefined;
    const comment = text(args, 'initial_comment');
    for (const { file, title } of files) {
      if (title) file.title = title;
      file.state = 'complete';
      if (comment !== undefined) file.initialComment = comment;
    }
    for (const channel of channels) {
      const ts = this.ctx.share(channel, threadTs, {
        text: comment ?? '',
        // Slack: "If the initial_comment field is provided, the blocks field is ignored."
        blocks: comment === undefined ? blocksOf(args.blocks) : [],
        files: files.map(({ file }) => this.wire(file)),
      });
      for (const { file } of files) {
        file.shares.push({ channel, ts, ...(threadTs ? { threadTs } : {}) });
        if (file.channel === undefined) {
          file.channel = channel;
          if (threadTs) file.threadTs = threadTs;
        }
      }
    }
    for (const { file } of files) this.ctx.changed(file);
    return { ok: true, files: files.map(({ file }) => ({ id: file.id, title: file.title })) };
  }

  /** Where the bot downloads the file from (url_private), with its token. */
  privateUrl(file: SimulatedFile): string {
    return `${this.ctx.origin()}/files-pri/${this.ctx.teamId}-${file.id}/${encodeURIComponent(file.name)}`;
  }

  /** The file behind a url_private path, if the path is one. */
  byPrivatePath(pathname: string): SimulatedFile | undefined {
    const match = /^\/files-pri\/[^/]+-(F[0-9A-Z]+)\/[^/]+$/.exec(pathname);
    const file = match ? this.find(match[1]!) : undefined;
    return file?.bytes ? file : undefined;
  }

  /** Slack's file object, as a message carries it. */
  wire(file: SimulatedFile): Record<string, unknown> {
    const type = TYPES[path.extname(file.name).toLowerCase()] ?? BINARY;
    return {
      id: file.id,
      created: file.created,
      timestamp: file.created,
      name: file.name,
      title: file.title,
      mimetype: type.mimetype,
      filetype: type.filetype,
      pretty_type: type.pretty,
      user: file.user,
      user_team: this.ctx.teamId,
      editable: false,
      size: file.bytes?.length ?? file.length,
      mode: 'hosted',
      is_external: false,
      external_type: '',
      is_public: true,
      public_url_shared: false,
      display_as_bot: false,
      url_private: this.privateUrl(file),
      url_private_download: this.privateUrl(file),
      ...(file.altText ? { alt_txt: file.altText } : {}),
      ...(type.mimetype === 'image/png' ? pngSize(file.bytes) : {}),
    };
  }
}

/** Slack gives an image's size as original_w and original_h: a PNG's is in its header (IHDR). */
function pngSize(bytes: Buffer | undefined): { original_w: number; original_h: number } | undefined {
  const signature = '89504e470d0a1a0a';
  if (!bytes || bytes.length < 24 || bytes.subarray(0, 8).toString('hex') !== signature) return undefined;
  if (bytes.subarray(12, 16).toString('latin1') !== 'IHDR') return undefined;
  return { original_w: bytes.readUInt32BE(16), original_h: bytes.readUInt32BE(20) };
}

function parseFiles(value: unknown): Array<{ id: string; title?: string }> | undefined {
  let parsed = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value) as unknown;
    } catch {
      return undefined;
    }
  }
  if (!Array.isArray(parsed)) return undefined;
  return parsed.flatMap((entry: unknown) => {
    if (typeof entry !== 'object' || entry === null) return [];
    const { id, title } = entry as Record<string, unknown>;
    if (typeof id !== 'string') return [];
    return [{ id, ...(typeof title === 'string' && title ? { title } : {}) }];
  });
}

function blocksOf(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (typeof value !== 'string' || !value.startsWith('[')) return [];
  try {
    return JSON.parse(value) as unknown[];
  } catch {
    return [];
  }
}

/** The first file of a multipart form (or its first field, if it holds no file). */
async function firstFormFile(contentType: string, body: Buffer): Promise<Buffer | undefined> {
  let form: FormData;
  try {
    form = await new Response(new Uint8Array(body), { headers: { 'content-type': contentType } }).formData();
  } catch {
    return undefined;
  }
  let fallback: Buffer | undefined;
  for (const [, value] of form) {
    if (typeof value !== 'string') return Buffer.from(await value.arrayBuffer());
    fallback ??= Buffer.from(value, 'utf8');
  }
  return fallback;
}
