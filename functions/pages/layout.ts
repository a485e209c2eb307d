/**
 * The frame of every page Casebook serves (approvals, effect questions): server-rendered HTML with
 * no scripts, readable on a phone, under the strict CSP of `functions/adapters/http.ts`.
 */
import { escapeHtml as e } from '../domain/html.ts';
import { withoutBidiControls } from '../domain/text.ts';

/*
 * Phones first: long words (plan hashes, addresses, link ids) wrap instead of widening the page,
 * controls take the page's type size and a finger-sized height (a select's own is tiny on a phone),
 * and below 600 px a `table.stack` (see `table` in domain/html.ts) shows each row as a block of
 * "Header: value" lines, its header row kept for screen readers only, so no column is cut off.
 */
const STYLE = `body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a;line-height:1.45;overflow-wrap:break-word}
h1{font-size:1.4rem;margin-bottom:.2rem}.meta{color:#555;margin-top:0}table{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem}
th,td{border-bottom:1px solid #ddd;padding:.35rem .5rem;text-align:left;vertical-align:top;overflow-wrap:break-word}th{background:#f6f6f6;hyphens:none}
.box{border:2px solid #333;border-radius:6px;padding:1rem;margin:1rem 0}.ok{border-color:#1b7f3b}.no{border-color:#b3261e}
.errors{border-color:#b3261e;background:#fdecea}label{display:block;margin:.5rem 0 .2rem;font-weight:600}
fieldset{min-width:0}input,select,textarea{font:inherit;max-width:100%;box-sizing:border-box}
input[type=text],input[type=email],textarea{width:100%}select,input:not([type=checkbox]):not([type=radio]):not([type=file]),textarea{padding:.4rem;min-height:2.6rem}
textarea{min-height:6rem}[aria-invalid=true]{border:2px solid #b3261e}
button{font:inherit;padding:.5rem 1.2rem;margin-top:.8rem}code{font-size:.85em;overflow-wrap:anywhere}
.message{white-space:pre-wrap;font:inherit}dl.summary{display:grid;grid-template-columns:repeat(auto-fit,minmax(13rem,1fr));gap:.4rem 1rem;margin:.5rem 0}
dl.summary dt{font-size:.8rem;color:#555}dl.summary dd{margin:0}summary{cursor:pointer;font-weight:600;margin:.5rem 0}
@media (max-width:600px){body{margin:1rem auto}
table.stack thead{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}
table.stack,table.stack tbody,table.stack tr,table.stack td{display:block}
table.stack tr{border-bottom:1px solid #ddd;padding:.4rem 0}table.stack td{border:0;padding:.1rem 0}
table.stack td::before{content:attr(data-label) ": ";font-weight:600}}`;

/**
 * A whole page: `body` is HTML, `title` text (which cannot hold markup, so it loses its bidi
 * controls), `style` CSS of this page's own after the common rules.
 */
export function layout(title: string, body: string, style = ''): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex"><title>${e(withoutBidiControls(title))}</title><style>${STYLE}${style}</style></head><body>${body}</body></html>`;
}
