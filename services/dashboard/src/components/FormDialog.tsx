import { useId, type FormEvent, type ReactNode } from "react";
import { useI18n } from "../i18n/I18nProvider";
import { Dialog } from "./Dialog";
import { errorText } from "./States";

/** A labelled form control: the label's text above the input, select or textarea it names. */
export function Field({ label, children }: { label: ReactNode; children: ReactNode }) {
  return (
    <label className="form__field">
      <span>{label}</span>
      {children}
    </label>
  );
}

/** Why the last attempt failed, under a form (a mutation's error); nothing without one. */
export function FormError({ error }: { error: unknown }) {
  const { t } = useI18n();
  if (!error) return null;
  return (
    <p className="form__error" role="alert">
      {errorText(error, t("state.networkError"))}
    </p>
  );
}

/**
 * A dialog around one form: the fields, the reason the last submit failed, and a footer with
 * Cancel and the submit button (Enter in a field submits too). `onSubmit` runs only when
 * `canSubmit` holds and nothing is pending.
 */
export function FormDialog({
  open,
  onClose,
  title,
  onSubmit,
  submitLabel,
  canSubmit = true,
  pending = false,
  error = null,
  danger = false,
  children,
}: {
  open: boolean;
  onClose: () => void;
  title: string;
  onSubmit: () => void;
  submitLabel: ReactNode;
  canSubmit?: boolean;
  pending?: boolean;
  /** The last attempt's error (`mutation.error`), shown under the fields. */
  error?: unknown;
  /** A destructive action (revoke, delete): the submit button is red. */
  danger?: boolean;
  children: ReactNode;
}) {
  const { t } = useI18n();
  const formId = useId();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (canSubmit && !pending) onSubmit();
  };
  return (
    <Dialog
      open={open}
      onClose={onClose}
      title={title}
      footer={
        <>
          <button type="button" className="btn btn--ghost" onClick={onClose}>
            {t("action.cancel")}
          </button>
          <button type="submit" form={formId} className={`btn ${danger ? "btn--danger" : "btn--primary"}`} disabled={!canSubmit || pending}>
            {submitLabel}
          </button>
        </>
      }
    >
      <form id={formId} className="form" onSubmit={submit}>
        {children}
        <FormError error={error} />
      </form>
    </Dialog>
  );
}
