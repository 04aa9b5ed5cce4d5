/**
 * Escaping for the XML and HTML reports. Labels and details come from BMCs, agents and API error
 * bodies, so they may hold anything: markup, quotes, control bytes, lone surrogates.
 */

// XML 1.0 §2.2 Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].
// Everything else (C0 controls, lone surrogates, U+FFFE/U+FFFF) makes a document ill-formed, and
// CI parsers reject the whole file for one stray byte, so such characters become U+FFFD.
const notXmlChar =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: these are exactly the characters to remove
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

// A literal CR in text is turned into LF by the parser (XML 1.0 §2.11); as a reference it is kept.
const textEntities: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '\r': '&#13;' };
const attrEntities: Record<string, string> = {
  ...textEntities,
  '"': '&quot;',
  "'": '&apos;',
  // A literal tab or line break in an attribute is normalised to a space by every parser
  // (XML 1.0 §3.3.3); as character references they survive, so multi-line messages keep their lines.
  '\t': '&#9;',
  '\n': '&#10;',
  '\r': '&#13;',
};

/** Text content of an XML element. `>` is escaped too, so `]]>` cannot appear. */
export function xmlText(s: string): string {
  return s.replace(notXmlChar, '\uFFFD').replace(/[&<>\r]/g, (c) => textEntities[c]!);
}

/** An XML attribute value, to be written between double quotes. */
export function xmlAttr(s: string): string {
  return s.replace(notXmlChar, '\uFFFD').replace(/[&<>"'\t\n\r]/g, (c) => attrEntities[c]!);
}

const htmlEntities: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** HTML text or a double-quoted attribute value (the same escaping serves both). */
export function html(s: string): string {
  return s.replace(notXmlChar, '\uFFFD').replace(/[&<>"']/g, (c) => htmlEntities[c]!);
}
