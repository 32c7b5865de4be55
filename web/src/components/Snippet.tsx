import { useEffect, useState } from "preact/hooks";
import { request } from "../api";
import type { Model } from "../types";
import { CopyButton } from "./CopyButton";

/** What the snippet names until the catalogue answers, or if it cannot be read. */
const PLACEHOLDER_MODEL = "<model id>";

// One look-up of the catalogue per page load, shared by every snippet; a failure is retried
// the next time a snippet mounts.
let exampleModel: Promise<string | null> | null = null;

/** The first model that can be called now (else the first one listed); null when unknown. */
function loadExampleModel(): Promise<string | null> {
  exampleModel ??= request<{ data: Model[] }>("/models").then(
    ({ data }) => (data.find((m) => m.available) ?? data[0])?.id ?? null,
    () => {
      exampleModel = null;
      return null;
    },
  );
  return exampleModel;
}

function useExampleModel(): string {
  const [model, setModel] = useState(PLACEHOLDER_MODEL);
  useEffect(() => {
    let live = true;
    void loadExampleModel().then((id) => {
      if (live && id) setModel(id);
    });
    return () => {
      live = false;
    };
  }, []);
  return model;
}

/** How to call the gateway with the OpenAI SDK: the base URL is this very origin. */
export function Snippet({ apiKey = "<your key>" }: { apiKey?: string }) {
  const model = useExampleModel();
  const code = `from openai import OpenAI

client = OpenAI(
    base_url="${window.location.origin}/api/v1",
    api_key="${apiKey}",
)
reply = client.chat.completions.create(
    model="${model}",
    messages=[{"role": "user", "content": "Hello!"}],
)
print(reply.choices[0].message.content)`;
  return (
    <div class="snippet">
      <div class="snippet-head">
        <span>Python · OpenAI SDK</span>
        <CopyButton text={code} class="button button-small button-ghost-dark" />
      </div>
      <pre>
        <code>{code}</code>
      </pre>
    </div>
  );
}
