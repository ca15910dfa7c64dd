/**
 * Secret-looking values in log lines, replaced before a line reaches Slack. The patterns
 * favour false positives: a hidden harmless value costs less than a leaked credential.
 */
const PATTERNS: ReadonlyArray<[RegExp, string]> = [
  [/\b(authorization\s*[:=]\s*(?:bearer|basic|token)\s+)[^\s"',;]+/gi, '$1[redacted]'],
  [/\b(bearer\s+)[A-Za-z0-9._~+/-]{8,}=*/gi, '$1[redacted]'],
  [
    /\b((?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|client[_-]?secret)["']?\s*[:=]\s*["']?)[^\s"',;&]+/gi,
    '$1[redacted]',
  ],
  [/\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:)[^\s@/]+@/gi, '$1[redacted]@'],
  [/\bxox[abposr]-[A-Za-z0-9-]{8,}/g, '[redacted-slack-token]'],
  [/\bAKIA[0-9A-Z]{16}\b/g, '[redacted-aws-key]'],
  [/\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g, '[redacted-jwt]'],
];

export function redactSecrets(line: string): string {
  return PATTERNS.reduce((text, [pattern, replacement]) => text.replace(pattern, replacement), line);
}
