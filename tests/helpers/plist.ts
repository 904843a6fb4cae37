/** A small XML property-list reader for the tests: dict, array, string, integer, true, false. */

export type PlistValue = string | number | boolean | PlistValue[] | { [key: string]: PlistValue };

/** Parses the top-level value of a plist document; throws on anything it does not understand. */
export function parsePlist(xml: string): PlistValue {
  const tokens = [
    ...xml.replace(/<!--[\s\S]*?-->/g, "").matchAll(/<(\/?)(\w+)[^>/]*(\/?)>([^<]*)/g),
  ];
  let index = tokens.findIndex((token) => token[2] === "plist") + 1;
  const unescape = (text: string) =>
    text.replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll("&quot;", '"')
      .replaceAll("&apos;", "'").replaceAll("&amp;", "&");
  const value = (): PlistValue => {
    const [, closing, tag, selfClosing, text] = tokens[index++]!;
    if (closing) throw new Error(`unexpected </${tag}>`);
    switch (tag) {
      case "true":
      case "false":
        if (!selfClosing) index++;
        return tag === "true";
      case "string":
        index++;
        return unescape(text ?? "");
      case "integer":
        index++;
        return Number(text);
      case "array": {
        const items: PlistValue[] = [];
        while (tokens[index]![2] !== "array") items.push(value());
        index++;
        return items;
      }
      case "dict": {
        const dict: Record<string, PlistValue> = {};
        while (tokens[index]![2] !== "dict") {
          const [, , keyTag, , keyText] = tokens[index]!;
          if (keyTag !== "key") throw new Error(`expected <key>, got <${keyTag}>`);
          index += 2;
          dict[unescape(keyText ?? "")] = value();
        }
        index++;
        return dict;
      }
      default:
        throw new Error(`unsupported plist element <${tag}>`);
    }
  };
  return value();
}
