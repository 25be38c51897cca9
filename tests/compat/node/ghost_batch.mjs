// Ghost's bulk-email pattern with a real mailgun.js, against a tidings server.
//
// env: MG_LIB (package to load: "mailgun.js" or "mailgun-js-ghost"), MG_URL, MG_KEY, MG_DOMAIN,
//      MG_BEGIN (epoch seconds, float), MG_TO (comma-separated recipients).
// 1. one batch send shaped like Ghost 6.65's mailgun-client.js (recipient-variables with a
//    per-recipient message_id, h:Message-Id: <%recipient.message_id%>);
// 2. Ghost's event reader: events.get(domain, query), then events.get(domain, {page, ...query})
//    with page = page.pages.next.page until an empty page; repeated (up to ~10 s) until the
//    delivered events of every recipient have been read.
// Prints one JSON object on stdout: {lib, send, recipientVariables, items, pageSizes,
// firstPages, lastPages} (the parsed `pages` of the first and of the final, empty, page).
import { createHash } from 'node:crypto';
import FormData from 'form-data';

const { MG_LIB, MG_URL, MG_KEY, MG_DOMAIN, MG_BEGIN, MG_TO } = process.env;
const mod = await import(MG_LIB);
const Mailgun = mod.default;
const domain = MG_DOMAIN;
const emailId = 'abc';
const to = MG_TO.split(',');

// Ghost: client({username: 'api', key, url: new URL(baseUrl).origin, timeout: 60000})
const mg = new Mailgun(FormData).client({
  username: 'api',
  key: MG_KEY,
  url: new URL(`${MG_URL}/v3`).origin,
  timeout: 60000,
});

function ghostMessageId(address) {
  const hash = createHash('sha256').update(`${emailId}:${address}`).digest('hex').slice(0, 32);
  return `${emailId}.${hash}@${domain}`;
}

const recipientVariables = Object.fromEntries(
  to.map((address, i) => [
    address,
    {
      name: `Reader ${i + 1}`,
      uuid: `uuid-${i + 1}`,
      list_unsubscribe: `https://blog.example/unsubscribe/?uuid=uuid-${i + 1}`,
      message_id: ghostMessageId(address),
    },
  ]),
);

const messageData = {
  from: `Ghost Blog <noreply@${domain}>`,
  to,
  'h:Reply-To': `editor@${domain}`,
  subject: 'Weekly digest',
  html: '<p>Hi %recipient.name%</p><a href="%recipient.list_unsubscribe%">unsubscribe</a>',
  text: 'Hi %recipient.name%\nUnsubscribe: %recipient.list_unsubscribe%',
  'recipient-variables': JSON.stringify(recipientVariables),
  'h:Sender': `noreply@${domain}`,
  'h:Auto-Submitted': 'auto-generated',
  'h:X-Auto-Response-Suppress': 'OOF, AutoReply',
  'h:List-Unsubscribe': '<%recipient.list_unsubscribe%>',
  'h:List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
  'h:Message-Id': '<%recipient.message_id%>',
  'v:email-id': emailId,
  'o:tag': ['ghost-email', 'bulk-email'],
  'o:testmode': false,
};

async function readAll(query) {
  // Ghost's fetchEvents / getEventsFromMailgun loop.
  const items = [];
  const pageSizes = [];
  let page = await mg.events.get(domain, query);
  const firstPages = page.pages;
  while (page.items.length !== 0) {
    items.push(...page.items);
    pageSizes.push(page.items.length);
    if (pageSizes.length > 50) throw new Error('events paging did not end within 50 pages');
    const nextPageId = page.pages.next.page;
    if (!nextPageId) throw new Error('next page id missing');
    page = await mg.events.get(domain, { page: nextPageId, ...query });
  }
  return { items, pageSizes, firstPages, lastPages: page.pages };
}

function complete(items) {
  const seen = new Set(items.map((e) => `${e.event} ${e.recipient}`));
  return to.every((a) => seen.has(`accepted ${a}`) && seen.has(`delivered ${a}`));
}

try {
  const send = await mg.messages.create(domain, messageData);
  const query = {
    begin: Number(MG_BEGIN),
    ascending: 'yes',
    limit: 2,
    event: 'accepted OR delivered',
    tags: 'bulk-email',
  };
  const deadline = Date.now() + 10000;
  let result = await readAll(query);
  while (!complete(result.items) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    result = await readAll(query);
  }
  process.stdout.write(
    JSON.stringify({ lib: MG_LIB, send, recipientVariables, ...result }),
  );
} catch (err) {
  const error = { name: err?.name, message: err?.message, status: err?.status };
  error.details = err?.details;
  process.stdout.write(JSON.stringify({ lib: MG_LIB, error }));
  process.exitCode = 1;
}
