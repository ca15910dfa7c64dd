import type { WebClient } from '@slack/web-api';
import type { SlackOutbox } from '../kernel/slack/outbox';

export interface GraphUpload {
  channel: string;
  threadTs: string;
  png: Buffer;
  filename: string;
  title: string;
  /** What screen readers say, and what a client that shows no image shows (≤ 1,000 characters). */
  altText: string;
}

export interface UploadDeps {
  slack: Pick<WebClient, 'apiCall'>;
  outbox: Pick<SlackOutbox, 'paced'>;
}

const UPLOAD_TIMEOUT_MS = 30_000;

/**
 * Shares the PNG in the alert's thread through Slack's external upload, in the channel's
 * turn like every other write to it, so a storm of graphs never pushes the channel past
 * Slack's pace.
 *
 * The three steps are made here rather than by `WebClient.filesUploadV2`: @slack/web-api
 * 8.2 sends the alt text as `alt_text`, but files.getUploadURLExternal reads `alt_txt`, so
 * through the SDK the graph reached screen readers without its description.
 */
export async function uploadGraph(deps: UploadDeps, upload: GraphUpload): Promise<void> {
  await deps.outbox.paced('files.uploadV2', upload.channel, async () => {
    const ticket = await deps.slack.apiCall('files.getUploadURLExternal', {
      filename: upload.filename,
      length: upload.png.length,
      alt_txt: upload.altText,
    });
    const { upload_url: url, file_id: id } = ticket as { upload_url?: unknown; file_id?: unknown };
    if (typeof url !== 'string' || typeof id !== 'string') {
      throw new Error('files.getUploadURLExternal gave no upload URL');
    }
    const sent = await fetch(url, {
      method: 'POST',
      body: Uint8Array.from(upload.png),
      signal: AbortSignal.timeout(UPLOAD_TIMEOUT_MS),
    });
    await sent.arrayBuffer();
    if (sent.status !== 200) throw new Error(`the upload URL answered ${sent.status}`);
    await deps.slack.apiCall('files.completeUploadExternal', {
      files: [{ id, title: upload.title }],
      channel_id: upload.channel,
      thread_ts: upload.threadTs,
    });
  });
}
