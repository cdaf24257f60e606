import { useNavigate } from "react-router";
import { useDeleteTask } from "../../api/queries";
import type { TaskDetail } from "../../api/types";
import { Dialog } from "../../components/Dialog";
import { errorText } from "../../components/States";
import { useToast } from "../../components/Toasts";
import { useI18n } from "../../i18n/I18nProvider";

/** Asks before deleting; after the deletion the board is shown. */
export function DeleteTaskDialog({ task, open, onClose }: { task: TaskDetail; open: boolean; onClose: () => void }) {
  const { t } = useI18n();
  const navigate = useNavigate();
  const toast = useToast();
  const remove = useDeleteTask();
  const confirm = () =>
    remove.mutate(task.id, {
      onSuccess: () => {
        toast.push({ kind: "success", text: t("task.deleted", { id: task.id }) });
        void navigate("/board");
      },
      onError: (error) => toast.push({ kind: "error", text: errorText(error, t("state.networkError")) }),
    });
  return (
    <Dialog
      open={open}
      onClose={onClose}
      title={t("task.deleteTitle", { id: task.id })}
      footer={
        <>
          <button type="button" className="btn btn--ghost" onClick={onClose}>
            {t("action.cancel")}
          </button>
          <button type="button" className="btn btn--danger" disabled={remove.isPending} onClick={confirm}>
            {t("action.delete")}
          </button>
        </>
      }
    >
      <p>{t("task.deleteConfirm")}</p>
    </Dialog>
  );
}
