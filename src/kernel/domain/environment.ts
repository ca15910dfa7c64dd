/** The platform's environments and blue/green colours: the one place they are declared. */
export const ENVIRONMENTS = ['staging', 'production'] as const;
export type EnvironmentName = (typeof ENVIRONMENTS)[number];

export const COLOURS = ['blue', 'green'] as const;
export type Colour = (typeof COLOURS)[number];
