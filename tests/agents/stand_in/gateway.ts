/**
 * What a load balancer or proxy in front of a model API answers when the service behind it is
 * down: an HTML page, not the API's own JSON error. The APIs' modules answer the statuses their
 * service documents in its own words and leave the rest (a 502, a 529 from a service that never
 * sends one) to this page, as nginx or Cloudflare would.
 */

const TITLES: Record<number, string> = {
  500: "500 Internal Server Error",
  502: "502 Bad Gateway",
  503: "503 Service Temporarily Unavailable",
  504: "504 Gateway Time-out",
};

/** The HTML error page of a gateway for `status`. */
export function gatewayPage(status: number): Response {
  const title = TITLES[status] ?? `${status} Error`;
  return new Response(
    `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n` +
      `<center><h1>${title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`,
    { status, headers: { "content-type": "text/html" } },
  );
}
