import { findVerb, VERBS } from './domain/grammar';
import { code, context, md, render, section, type SlackMessage } from '../kernel/slack/blocks';

export function helpMessage(topic?: string): SlackMessage {
  const spec = topic ? findVerb(topic) : undefined;
  if (spec) {
    return {
      text: `/azora ${spec.usage}: ${spec.summary}`,
      blocks: [
        section(md`*${code(`/azora ${spec.usage}`)}*\n${spec.summary}`),
        context(...spec.examples.map((example) => code(example))),
      ],
    };
  }
  const lines = VERBS.map((s) => `• \`/azora ${s.usage}\` — ${s.summary}`);
  return {
    text: `Azora chat-ops commands:\n${VERBS.map((s) => `/azora ${s.usage}`).join('\n')}`,
    blocks: [
      section(
        md`${topic ? `No command '${topic}'. ` : ''}*Azora chat-ops* — environments \`staging\` (\`stg\`) and \`production\` (\`prod\`)`,
      ),
      section(lines.join('\n')),
      context(
        'Production changes wait for an approver other than you.',
        `Examples: ${VERBS.flatMap((s) => s.examples.slice(0, 1))
          .map((e) => `\`${e}\``)
          .join(' · ')}`,
      ),
    ],
  };
}

/** The ephemeral reply to input that is not a command: what was wrong and the right form. */
export function refusalMessage(error: string, usage: string): SlackMessage {
  return {
    text: render(`${error}. Usage: ${usage}`),
    blocks: [section(md`:warning: ${error}`), section(md`Usage:\n\`\`\`${usage}\`\`\``)],
  };
}
