import type { MessageKey } from "../i18n/en";
import { useI18n } from "../i18n/I18nProvider";
import { Dialog } from "./Dialog";
import "./HelpOverlay.css";

const SECTIONS: Array<{ title: MessageKey; keys: Array<[string[], MessageKey]> }> = [
  {
    title: "help.global",
    keys: [
      [["?"], "help.showHelp"],
      [["g", "b"], "help.goBoard"],
      [["g", "i"], "help.goInbox"],
      [["g", "r"], "help.goReview"],
      [["g", "s"], "help.goStats"],
      [["g", "a"], "help.goAdmin"],
      [["/"], "help.search"],
    ],
  },
  {
    title: "help.board",
    keys: [
      [["c"], "help.newTask"],
      [["Shift", "←"], "help.moveLeft"],
      [["Shift", "→"], "help.moveRight"],
      [["Enter"], "help.openTask"],
    ],
  },
  {
    title: "help.review",
    keys: [
      [["j"], "help.next"],
      [["k"], "help.previous"],
      [["a"], "help.approve"],
      [["n"], "help.noise"],
      [["1", "–", "4"], "help.priority"],
      [["b", "f", "q", "t"], "help.category"],
      [["m"], "help.merge"],
      [["o"], "help.openTask"],
    ],
  },
];

export function HelpOverlay({ open, onClose }: { open: boolean; onClose: () => void }) {
  const { t } = useI18n();
  return (
    <Dialog open={open} onClose={onClose} title={t("help.title")} wide>
      <div className="help-grid">
        {SECTIONS.map((section) => (
          <section key={section.title}>
            <h3>{t(section.title)}</h3>
            <dl className="shortcut-list">
              {section.keys.map(([combo, text]) => (
                <div key={text + combo.join()} className="shortcut-list__row">
                  <dt>
                    {combo.map((key) =>
                      key === "–" ? (
                        <span key={key} aria-hidden="true">–</span>
                      ) : (
                        <kbd key={key}>{key}</kbd>
                      ),
                    )}
                  </dt>
                  <dd>{t(text)}</dd>
                </div>
              ))}
            </dl>
          </section>
        ))}
      </div>
    </Dialog>
  );
}
