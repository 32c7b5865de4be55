import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { ApiError, del } from "../api";
import { asApiError } from "../hooks";
import { Dialog } from "./Dialog";
import { FormError } from "./States";

/** "Delete this?": says what goes, sends DELETE `path` on confirm, shows the API's refusal. */
export function ConfirmDeleteDialog<T>({
  item,
  title,
  path,
  confirmTestId,
  onClose,
  onDeleted,
  children,
}: {
  item: T | null;
  title: string;
  path: (item: T) => string;
  confirmTestId: string;
  onClose: () => void;
  onDeleted: (item: T) => void;
  children: (item: T) => ComponentChildren;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const close = () => {
    setError(null);
    onClose();
  };
  const confirm = async () => {
    if (item === null) return;
    setBusy(true);
    setError(null);
    try {
      await del(path(item));
      onDeleted(item);
    } catch (cause) {
      setError(asApiError(cause));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog title={title} open={item !== null} onClose={close}>
      {item !== null && (
        <>
          <p>{children(item)}</p>
          <FormError error={error} />
          <div class="dialog-actions">
            <button type="button" class="button" onClick={close}>
              Cancel
            </button>
            <button type="button" class="button button-danger" onClick={confirm} disabled={busy} data-testid={confirmTestId}>
              {busy ? "Deleting…" : "Delete key"}
            </button>
          </div>
        </>
      )}
    </Dialog>
  );
}
