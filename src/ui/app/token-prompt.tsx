import { useEffect, useRef, useState } from "preact/hooks";
import { controlAuth, type TokenRequest } from "./auth.js";
import { ErrorNote, Field } from "./components.js";

/**
 * Asks for the control token when the control plane refuses a call for want of it: a modal
 * dialog, since nothing on the page works until it is entered. Calls refused meanwhile wait and
 * go again once it is submitted, so the page fills in without a reload.
 */
export function TokenPrompt() {
  const [request, setRequest] = useState<TokenRequest>(controlAuth.request);
  const [value, setValue] = useState("");
  const dialog = useRef<HTMLDialogElement>(null);

  useEffect(() => {
    setRequest(controlAuth.request); // it may have changed before this subscribed
    return controlAuth.subscribe(setRequest);
  }, []);

  useEffect(() => {
    const element = dialog.current;
    if (!element) return;
    if (request !== null && !element.open) element.showModal();
    if (request === null && element.open) element.close();
  }, [request]);

  const submit = (event: Event) => {
    event.preventDefault(); // nothing is posted anywhere: the token stays in this tab
    controlAuth.submit(value);
    setValue("");
  };

  return (
    <dialog
      ref={dialog}
      aria-labelledby="control-token-title"
      aria-describedby="control-token-why"
      // Escape would only leave a page whose every call waits for the token.
      onCancel={(event) => event.preventDefault()}
    >
      <form onSubmit={submit}>
        <h2 id="control-token-title">Control token needed</h2>
        <p id="control-token-why">
          This emulator's control plane is locked with a control token: the value it was started with (<code>--control-token</code> or{" "}
          <code>CDP_EMULATOR_CONTROL_TOKEN</code>). It is kept for this browser tab only.
        </p>
        <ErrorNote error={request?.reason === "refused" ? "That control token was refused; check it and try again." : null} />
        <Field label="Control token">
          {(id) => (
            <input
              id={id}
              type="password"
              autoComplete="off"
              spellcheck={false}
              required
              autoFocus
              value={value}
              onInput={(event) => setValue(event.currentTarget.value)}
            />
          )}
        </Field>
        <div class="actions">
          <button type="submit">Unlock</button>
        </div>
      </form>
    </dialog>
  );
}
