import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { useI18n } from "../i18n/I18nProvider";
import { Icon } from "./Icon";
import "./Toasts.css";

type ToastKind = "info" | "success" | "error";
interface Toast {
  id: number;
  kind: ToastKind;
  text: string;
  action?: { label: string; run: () => void };
}

interface ToastApi {
  push: (toast: Omit<Toast, "id">) => void;
}

/** How long a toast without an action stays; one with an action stays until it is dismissed. */
export const TOAST_MS: Record<ToastKind, number> = { info: 4000, success: 4000, error: 8000 };
const MAX_TOASTS = 4;

const ToastContext = createContext<ToastApi>({ push: () => undefined });

export function ToastProvider({ children }: { children: ReactNode }) {
  const [toasts, setToasts] = useState<Toast[]>([]);
  const nextId = useRef(1);
  const timers = useRef(new Map<number, ReturnType<typeof setTimeout>>());

  const dismiss = useCallback((id: number) => {
    clearTimeout(timers.current.get(id));
    timers.current.delete(id);
    setToasts((all) => all.filter((toast) => toast.id !== id));
  }, []);
  const push = useCallback(
    (toast: Omit<Toast, "id">) => {
      const id = nextId.current++;
      setToasts((all) => [...all.slice(1 - MAX_TOASTS), { ...toast, id }]);
      // A toast with an action waits for the person (WCAG 2.2.1, timing adjustable).
      if (!toast.action) timers.current.set(id, setTimeout(() => dismiss(id), TOAST_MS[toast.kind]));
    },
    [dismiss],
  );
  useEffect(() => {
    const pending = timers.current;
    return () => {
      pending.forEach((timer) => clearTimeout(timer));
      pending.clear();
    };
  }, []);
  const api = useMemo(() => ({ push }), [push]);

  const errors = toasts.filter((toast) => toast.kind === "error");
  const notes = toasts.filter((toast) => toast.kind !== "error");
  return (
    <ToastContext.Provider value={api}>
      {children}
      <div className="toasts">
        <div className="toasts__region" role="status" aria-live="polite">
          {notes.map((toast) => (
            <ToastView key={toast.id} toast={toast} onDismiss={dismiss} />
          ))}
        </div>
        <div className="toasts__region" role="alert" aria-live="assertive">
          {errors.map((toast) => (
            <ToastView key={toast.id} toast={toast} onDismiss={dismiss} />
          ))}
        </div>
      </div>
    </ToastContext.Provider>
  );
}

function ToastView({ toast, onDismiss }: { toast: Toast; onDismiss: (id: number) => void }) {
  const { t } = useI18n();
  return (
    <div className={`toast toast--${toast.kind}`} data-testid="toast">
      <span className="toast__text">{toast.text}</span>
      {toast.action ? (
        <button
          type="button"
          className="btn btn--ghost btn--sm"
          onClick={() => {
            toast.action?.run();
            onDismiss(toast.id);
          }}
        >
          {toast.action.label}
        </button>
      ) : null}
      <button type="button" className="icon-btn icon-btn--sm" onClick={() => onDismiss(toast.id)} aria-label={t("action.dismiss")}>
        <Icon name="close" size={14} />
      </button>
    </div>
  );
}

export function useToast(): ToastApi {
  return useContext(ToastContext);
}
