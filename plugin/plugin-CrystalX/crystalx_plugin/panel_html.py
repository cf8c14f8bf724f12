"""The HTML table of an answer for the Olex2 panel, and each site's probabilities in a few
words: low-confidence atoms highlighted; where the reflections were weighed, their evidence
and each element they changed."""

LOW = "#ffd0d0"
CHANGED = "#c8e0ff"  # an element the data changed


def _escape(text):
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def element_probability(site):
    """The model's probability of the element the site ends with (the top one's when the
    answer lists too few)."""
    top = site["probabilities"]
    return dict((el, p) for el, p in top).get(site["element"], top[0][1] if top else 1.0)


def changed_from(site):
    """The element the data changed this site from, or ""."""
    evidence = site.get("evidence") or {}
    before = evidence.get("before", "")
    return before if before and before != evidence.get("decision") else ""


def probability_text(site):
    """A site's probabilities in a few words: 'C 0.97', with the data 'C 0.97 data 1.00', or
    'N data 0.99 was C' where the data changed it."""
    element, p = site["element"], element_probability(site)
    posterior = (site.get("evidence") or {}).get("posterior") or {}
    if element not in posterior:
        return "%s %.2f" % (element, p)
    if changed_from(site):
        return "%s data %.2f was %s" % (element, posterior[element], changed_from(site))
    return "%s %.2f data %.2f" % (element, p, posterior[element])


def hfix_text(site):
    """The HFIX cell: the code the answer would apply; for an atom that keeps its H (the
    core's "h_kept"), the code they ride under in Olex2, marked kept ("kept" alone where they
    are refined freely)."""
    if site.get("h_kept"):
        return "%d kept" % site["hfix"] if site["hfix"] else "kept"
    return str(site["hfix"] or "-")


def assignment_table(result, threshold):
    weighed = any(site.get("evidence") for site in result["sites"])
    rows = [
        "<table border='0' cellpadding='1' width='100%'>",
        "<tr><td><b>atom</b></td><td><b>new</b></td><td><b>element</b></td><td><b>alternatives</b></td>"
        "<td><b>H</b></td><td><b>HFIX</b></td>%s</tr>"
        % ("<td><b>by the data</b></td>" if weighed else ""),
    ]
    for site in result["sites"]:
        top = site["probabilities"]
        p = element_probability(site)
        colour = " bgcolor='%s'" % LOW if p < threshold else ""
        others = [(el, q) for el, q in top if el != site["element"]][:2]
        alternatives = ", ".join("%s %.2f" % (el, q) for el, q in others)
        h_p = site["h_probabilities"].get(str(site["h_count"]), 1.0)
        rows.append(
            "<tr%s><td>%s</td><td>%s</td><td>%s %.2f</td><td>%s</td><td>%d "
            "(%.2f)</td><td>%s</td>%s</tr>"
            % (
                colour,
                _escape(site["label"]),
                _escape(site["new_label"]),
                _escape(site["element"]),
                p,
                _escape(alternatives),
                site["h_count"],
                h_p,
                hfix_text(site),
                _data_cell(site) if weighed else "",
            )
        )
    width = 7 if weighed else 6
    for site in result["sites"]:  # the reason for each element the data changed
        if changed_from(site):
            rows.append(
                "<tr><td colspan='%d'>%s: %s &rarr; %s by the data: %s</td></tr>"
                % (
                    width,
                    _escape(site["new_label"]),
                    _escape(changed_from(site)),
                    _escape(site["element"]),
                    _escape(site["evidence"]["reason"]),
                )
            )
    if result.get("spurious"):
        rows.append(
            "<tr><td colspan='%d'>not atoms: %s</td></tr>"
            % (width, _escape(" ".join(result["spurious"])))
        )
    rows.append("</table>")
    return "\n".join(rows)


def _data_cell(site):
    """The data's count and posterior, each element the data changed marked."""
    evidence = site.get("evidence")
    if not evidence:
        return "<td></td>"
    text = _escape(evidence.get("summary", ""))
    if changed_from(site):
        return "<td bgcolor='%s'><b>%s &rarr; %s</b>; %s</td>" % (
            CHANGED,
            _escape(changed_from(site)),
            _escape(site["element"]),
            text,
        )
    return "<td>%s</td>" % text
