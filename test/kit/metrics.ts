/** A figure of a bot's /metrics at `url`, by its name with labels as Prometheus prints them; undefined when absent. */
export async function metricOf(url: string, series: string): Promise<number | undefined> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}
