import { connect } from "node:net";

export interface RawResponse {
  status: number;
  /** Header names in lower case; a repeated header keeps its last value. */
  headers: Record<string, string>;
  body: string;
}

/**
 * Sends bytes as they are over a fresh TCP connection and reads the answer until the server
 * closes it (the request should say `Connection: close`): for requests fetch() and http.request
 * refuse to send, such as CR/LF in a header, two Content-Lengths or a 20 KB header.
 */
export function rawRequest(url: string, request: string | Buffer, timeoutMs = 5_000): Promise<RawResponse> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => { // a bound in wall time: an answer that never comes fails the test
      socket.destroy();
      reject(new Error(`no complete answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on("close", () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString("utf8");
      const split = text.indexOf("\r\n\r\n");
      if (split === -1) return reject(new Error(`not an HTTP response: ${JSON.stringify(text.slice(0, 200))}`));
      const [statusLine = "", ...lines] = text.slice(0, split).split("\r\n");
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(":");
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      let body = text.slice(split + 4);
      // A keep-alive style chunked answer: de-chunk it, enough for a JSON envelope.
      if (headers["transfer-encoding"] === "chunked") {
        let out = "";
        let rest = body;
        for (;;) {
          const end = rest.indexOf("\r\n");
          const size = parseInt(rest.slice(0, end), 16);
          if (!(size > 0)) break;
          out += rest.slice(end + 2, end + 2 + size);
          rest = rest.slice(end + 2 + size + 2);
        }
        body = out;
      }
      resolve({ status: Number(statusLine.split(" ")[1]), headers, body });
    });
    socket.end(request);
  });
}

/** A POST as raw text: `headers` are written exactly as given, after Host and Connection. */
export function rawPost(url: string, options: { path: string; headers?: string[]; body?: string | Buffer }): string | Buffer {
  const { host } = new URL(url);
  const body = options.body ?? "";
  const head = [
    `POST ${options.path} HTTP/1.1`,
    `Host: ${host}`,
    "Connection: close",
    ...(options.headers ?? []),
    ...(options.headers?.some((line) => /^content-length:/i.test(line)) ? [] : [`Content-Length: ${Buffer.byteLength(body)}`]),
  ].join("\r\n");
  return Buffer.concat([Buffer.from(`${head}\r\n\r\n`, "latin1"), Buffer.isBuffer(body) ? body : Buffer.from(body, "utf8")]);
}
