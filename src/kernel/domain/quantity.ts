/**
 * Kubernetes resource quantities as a pod's `resources` take them (`250m`, `0.5`, `512Mi`,
 * `1G`): enough to check a policy before the API server refuses a Job made from it.
 * Exponent forms (`1e3`) and the tiny suffixes (`n`, `u`) are not taken.
 */
export const QUANTITY = /^(\d+(?:\.\d+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;

const SCALE: Record<string, number> = {
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** The quantity as a number of units (cores, bytes); undefined when it is not one. */
export function quantityValue(text: string): number | undefined {
  const match = QUANTITY.exec(text);
  if (!match) return undefined;
  return Number(match[1]) * (match[2] ? SCALE[match[2]]! : 1);
}
