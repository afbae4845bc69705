// Unit tests of the side panel's and the canvas' small pure helpers: the pan that shows a
// focused step, a template created in place, the condition editor's rules.
import { describe, expect, it } from "vitest";

import { panToShow } from "./viewport.js";
import { paragraphsHtml, templateBody } from "./templates.js";

describe("panToShow: the canvas moves only as far as needed to show a step", () => {
  const pane = { width: 500, height: 400 };
  const box = { x: 100, y: 100, width: 200, height: 80 };
  it("keeps the view when the step is on screen", () => {
    expect(panToShow(box, { x: 0, y: 0, zoom: 1 }, pane)).toBe(null);
  });
  it("pans by the overflow, not to the centre", () => {
    expect(panToShow({ ...box, x: 300 }, { x: 0, y: 0, zoom: 1 }, pane)).toEqual({ x: -24, y: 0, zoom: 1 });
    expect(panToShow({ ...box, x: -50 }, { x: 0, y: 0, zoom: 1 }, pane)).toEqual({ x: 74, y: 0, zoom: 1 });
    expect(panToShow({ ...box, y: 350 }, { x: 0, y: 0, zoom: 1 }, pane)).toEqual({ x: 0, y: -54, zoom: 1 });
  });
  it("centres a step wider than the pane", () => {
    expect(panToShow({ ...box, width: 600 }, { x: 0, y: 0, zoom: 1 }, pane).x).toBe(-150);
  });
  it("counts the zoom", () => {
    expect(panToShow({ ...box, x: 400 }, { x: 0, y: 0, zoom: 0.5 }, pane)).toBe(null);
  });
});

describe("a template created in place", () => {
  it("turns paragraphs into HTML, escaped, and keeps the merge tags", () => {
    expect(paragraphsHtml("Hi {{ contact.first_name }},\n\nYour <cart>\nis waiting & ready")).toBe(
      "<p>Hi {{ contact.first_name }},</p><p>Your &lt;cart&gt;<br>is waiting &amp; ready</p>",
    );
  });
  it("adds the unsubscribe footer to an email, not to an SMS", () => {
    const email = templateBody("email", { name: " Cart ", subject: "Hi", message: "Come back" });
    expect(email.name).toBe("Cart");
    expect(email.html).toContain("{{ unsubscribe_url }}");
    expect(email.html.startsWith("<p>Come back</p>")).toBe(true);
    expect(templateBody("sms", { name: "S", subject: "", message: " Reply STOP " })).toEqual({ name: "S", body: "Reply STOP" });
  });
});
