"""The HTML table of an answer for the Olex2 panel: low-confidence atoms highlighted."""

LOW = "#ffd0d0"


def _escape(text):
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def assignment_table(result, threshold):
    rows = [
        "<table border='0' cellpadding='1' width='100%'>",
        "<tr><td><b>atom</b></td><td><b>new</b></td><td><b>element</b></td><td><b>alternatives</b></td>"
        "<td><b>H</b></td><td><b>HFIX</b></td></tr>",
    ]
    for site in result["sites"]:
        top = site["probabilities"]
        p = top[0][1] if top else 1.0
        colour = " bgcolor='%s'" % LOW if p < threshold else ""
        alternatives = ", ".join("%s %.2f" % (el, q) for el, q in top[1:3])
        h_p = site["h_probabilities"].get(str(site["h_count"]), 1.0)
        rows.append(
            "<tr%s><td>%s</td><td>%s</td><td>%s %.2f</td><td>%s</td><td>%d "
            "(%.2f)</td><td>%s</td></tr>"
            % (
                colour,
                _escape(site["label"]),
                _escape(site["new_label"]),
                _escape(site["element"]),
                p,
                _escape(alternatives),
                site["h_count"],
                h_p,
                site["hfix"] or "-",
            )
        )
    if result.get("spurious"):
        rows.append(
            "<tr><td colspan='6'>not atoms: %s</td></tr>" % _escape(" ".join(result["spurious"]))
        )
    rows.append("</table>")
    return "\n".join(rows)
