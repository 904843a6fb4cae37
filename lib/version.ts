/** The runner's version; `--version` prints it and the config cache is keyed on it. */
export const VERSION = "0.1.0";
