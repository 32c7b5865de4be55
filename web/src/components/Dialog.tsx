import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";

/** A modal on the native <dialog>: focus trapping, Escape and the backdrop come for free. */
export function Dialog({ title, open, onClose, children, testid }: { title: string; open: boolean; onClose: () => void; children: ComponentChildren; testid?: string }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);
  const titleId = `dialog-${title.replace(/\W+/g, "-").toLowerCase()}`;
  return (
    <dialog ref={ref} class="dialog" aria-labelledby={titleId} onClose={onClose} onCancel={onClose} data-testid={testid}>
      {open && (
        <div class="dialog-body">
          <h2 id={titleId} class="dialog-title">
            {title}
          </h2>
          {children}
        </div>
      )}
    </dialog>
  );
}
