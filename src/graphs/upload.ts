import type { WebClient } from '@slack/web-api';
import type { SlackOutbox } from '../kernel/slack/outbox';

export interface GraphUpload {
  channel: string;
  threadTs: string;
  png: Buffer;
  filename: string;
  title: string;
  /** What screen readers say, and what a client that shows no image shows. */
  altText: string;
}

export interface UploadDeps {
  slack: Pick<WebClient, 'filesUploadV2'>;
  outbox: Pick<SlackOutbox, 'paced'>;
}

/**
 * Shares the PNG in the alert's thread through Slack's external upload
 * (files.getUploadURLExternal, the bytes to its URL, files.completeUploadExternal with the
 * thread), in the channel's turn like every other write to it, so a storm of graphs never
 * pushes the channel past Slack's pace.
 */
export async function uploadGraph(deps: UploadDeps, upload: GraphUpload): Promise<void> {
  await deps.outbox.paced('files.uploadV2', upload.channel, () =>
    deps.slack.filesUploadV2({
      channel_id: upload.channel,
      thread_ts: upload.threadTs,
      file: upload.png,
      filename: upload.filename,
      title: upload.title,
      alt_text: upload.altText,
    }),
  );
}
