import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

/*
 * README.md stays one page, and every relative link of README.md, ARCHITECTURE.md and docs/*.md
 * points at a file that exists and, with a #fragment, at a heading that file has.
 */

const ROOT = resolve(import.meta.dirname, "../..");
const DOCS = readdirSync(join(ROOT, "docs")).filter((name) => name.endsWith(".md")).sort().map((name) => `docs/${name}`);
const PAGES = ["README.md", "ARCHITECTURE.md", ...DOCS];

/** The text outside code: fenced blocks and inline code spans hold examples, not links. */
const prose = (markdown: string): string => markdown.replace(/^```[\s\S]*?^```$/gm, "").replace(/`[^`\n]*`/g, "");

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const match of markdown.replace(/^```[\s\S]*?^```$/gm, "").matchAll(/^#{1,6} (.+)$/gm)) {
    const slug = (match[1] ?? "")
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-");
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    out.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return out;
}

function links(markdown: string): string[] {
  return [...prose(markdown).matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((match) => match[1] ?? "");
}

describe("the documentation's shape and links", () => {
  it("keeps the README to one page (at most 300 lines)", () => {
    const lines = readFileSync(join(ROOT, "README.md"), "utf8").split("\n").length;
    expect(lines).toBeLessThanOrEqual(300);
  });

  it("links every docs/ page and ARCHITECTURE.md from the README", () => {
    const targets = new Set(links(readFileSync(join(ROOT, "README.md"), "utf8")).map((link) => link.split("#")[0]));
    for (const page of [...DOCS, "ARCHITECTURE.md"]) expect(targets, page).toContain(page);
  });

  it("shows a dashboard screenshot from docs/img in the README", () => {
    const images = [...prose(readFileSync(join(ROOT, "README.md"), "utf8")).matchAll(/!\[[^\]]+\]\((docs\/img\/[^)]+\.png)\)/g)].map((match) => match[1] ?? "");
    expect(images.length).toBeGreaterThan(0);
    for (const image of images) {
      const png = readFileSync(join(ROOT, image));
      expect(png.subarray(1, 4).toString()).toBe("PNG");
      expect(png.readUInt32BE(16), `${image} width`).toBe(1280);
    }
  });

  it.each(PAGES)("%s: every relative link resolves, fragments included", (page) => {
    const markdown = readFileSync(join(ROOT, page), "utf8");
    const broken: string[] = [];
    for (const link of links(markdown)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(link)) continue; // http:, https:, mailto:
      const [path = "", fragment] = link.split("#");
      const target = path === "" ? join(ROOT, page) : resolve(dirname(join(ROOT, page)), path);
      if (relative(ROOT, target).startsWith("..") || !existsSync(target)) {
        broken.push(`${link}: no such file`);
        continue;
      }
      if (fragment === undefined) continue;
      if (!statSync(target).isFile() || !target.endsWith(".md")) {
        broken.push(`${link}: a fragment on something that is not a markdown file`);
        continue;
      }
      if (!anchors(readFileSync(target, "utf8")).has(fragment)) broken.push(`${link}: no heading #${fragment} in ${relative(ROOT, target)}`);
    }
    expect(broken).toEqual([]);
  });
});
