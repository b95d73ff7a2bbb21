package handlers

import (
	"net/http"
)

// triggerDelete deletes a trigger from its page: it stops at once, its
// versions and events stay. A composition's schedule is refused by the
// engine, which says where to remove it instead. The page asks with htmx
// (to confirm first), which shows no error body: a refusal the person can
// act on comes back as a message on the trigger's page.
func (h *Handler) triggerDelete(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := h.engine.DeleteTrigger(r.Context(), name); err != nil {
		if msg, theirs := userProblem(err); theirs && isHTMX(r) {
			h.flash(r, false, "Not deleted: "+msg)
			redirect(w, r, "/triggers/"+name)
			return
		}
		h.fail(w, r, err)
		return
	}
	h.flash(r, true, "Trigger "+name+" deleted. Its history and events are kept: restore a version at /triggers/"+name+"/history to bring it back.")
	redirect(w, r, "/triggers")
}
