-- pandoc filter for dd2424's LaTeX report (pandoc >= 2.17).
--
-- Tables: a table whose natural width fits the text width is left as it is (columns as wide as
-- their content). A wider one gets relative column widths, so its long text columns wrap: every
-- column at least as wide as its longest word (no one-word-wide columns, nothing to hyphenate),
-- the rest of the width shared in proportion to how much more each column would like; if that
-- does not fit at \small, the table is set in \footnotesize. Header cells are never hyphenated.
-- Every table of at most LONG_ROWS rows is written as a booktabs `tabular` (never pandoc's
-- longtable, which may break over pages): the report's template puts it in a numbered `table`
-- float with its caption. A longer table, which no page holds, stays pandoc's longtable, whose
-- header row repeats on every page (the template then writes its caption without a float).
-- Maths in a cell is measured by what it shows (`$3 \times 10^{-5}$`: 7 characters), not its source.
-- Inline code and words longer than 24 characters without spaces (hashes) may break anywhere.

local CHARS = { normal = 80, small = 88, footnotesize = 104 }  -- characters per 16 cm line
local LONG_ROWS = 40  -- as LONG_TABLE_ROWS in index.tex.j2
local PAD, TIGHT_PAD = 2.5, 1.3  -- 2 \tabcolsep in characters: 6pt (LaTeX's default) and 3pt (the widest tables)

local function cells_of(row)
  return row.cells or row[2]
end

local function shown_math(tex)
  tex = tex:gsub("\\[%a]+", "x"):gsub("[{}%^_%s]", "")
  return tex
end

local function text_of(cell)
  local contents = cell.contents or cell[5] or cell
  contents = pandoc.walk_block(pandoc.Div(contents), {
    Math = function(m) return pandoc.Str(shown_math(m.text)) end,
  })
  return pandoc.utils.stringify(contents)
end

local function ulen(s)
  return utf8.len(s) or #s
end

local function measure(rows, ncols, natural, longest, numeric)
  for _, row in ipairs(rows) do
    for j, cell in ipairs(cells_of(row)) do
      if j <= ncols then
        local text = text_of(cell)
        natural[j] = math.max(natural[j], ulen(text))
        if numeric and text ~= "" and not text:match("^[%d%s%.%+%-eExX%%,±%[%]()]+$") then
          numeric[j] = false
        end
        for word in text:gmatch("%S+") do
          longest[j] = math.max(longest[j], ulen(word))
        end
      end
    end
  end
end

local function no_hyphens(cell)
  local blocks = cell.contents
  if blocks and blocks[1] and blocks[1].content then
    blocks[1].content:insert(1, pandoc.RawInline("latex", "\\hyphenpenalty=10000\\exhyphenpenalty=10000\\relax{}"))
  end
end

function Table(tbl)
  local ncols = #tbl.colspecs
  local natural, longest, numeric = {}, {}, {}
  for j = 1, ncols do natural[j], longest[j], numeric[j] = 1, 1, true end
  measure(tbl.head.rows, ncols, natural, longest, nil)
  for _, body in ipairs(tbl.bodies) do
    measure(body.body, ncols, natural, longest, numeric)
  end
  for _, row in ipairs(tbl.head.rows) do
    for _, cell in ipairs(cells_of(row)) do no_hyphens(cell) end
  end
  local want, least = ncols * PAD, ncols * PAD
  for j = 1, ncols do
    want = want + natural[j]
    least = least + longest[j]
  end
  local size, line, pad = nil, nil, PAD
  if want <= CHARS.normal then
    size = nil
  elseif want <= CHARS.small then
    size = "small"
  elseif least <= CHARS.small then
    size, line = "small", CHARS.small
  else
    size, line, pad = "footnotesize\\setlength{\\tabcolsep}{3pt}", CHARS.footnotesize, TIGHT_PAD
  end
  local widths = nil
  if line == nil then  -- natural widths (pandoc gives a pipe table with long lines relative ones)
    for j = 1, ncols do
      tbl.colspecs[j] = { tbl.colspecs[j][1], nil }
    end
  else
    local room = line - ncols * pad
    local spare, desire = room, 0
    for j = 1, ncols do
      spare = spare - longest[j]
      desire = desire + math.max(0, natural[j] - longest[j])
    end
    spare = math.max(0, spare)
    local total = 0
    widths = {}
    for j = 1, ncols do
      local extra = desire > 0 and spare * math.max(0, natural[j] - longest[j]) / desire or 0
      widths[j] = math.min(natural[j], longest[j] + extra)
      total = total + widths[j]
    end
    for j = 1, ncols do
      local align = tbl.colspecs[j][1]
      if natural[j] > widths[j] + 0.5 and not numeric[j] then
        align = pandoc.AlignLeft  -- wrapped text reads better flush left
      end
      tbl.colspecs[j] = { align, widths[j] / total }
    end
  end
  local rows = 0
  for _, body in ipairs(tbl.bodies) do rows = rows + #body.body end
  if rows > LONG_ROWS then
    if size then
      return { pandoc.RawBlock("latex", "\\begingroup\\" .. size), tbl, pandoc.RawBlock("latex", "\\endgroup") }
    end
    return tbl
  end
  return pandoc.RawBlock("latex", tabular(tbl, size))
end

-- a column of the tabular: l/r/c, or a paragraph column of its relative width
local function column_spec(colspec, ncols)
  local align, width = colspec[1], colspec[2]
  local letter = ({ AlignRight = "r", AlignCenter = "c" })[tostring(align)] or "l"
  if width == nil or width == 0 then
    return letter
  end
  local ragged = ({ r = "\\raggedleft", c = "\\centering" })[letter] or "\\raggedright"
  -- as pandoc's longtables: the text width less the column gaps, shared in proportion (calc)
  return string.format(">{%s\\arraybackslash}p{(\\linewidth - %d\\tabcolsep) * \\real{%.4f}}", ragged, 2 * ncols, width)
end

local function cell_latex(cell)
  local blocks = cell.contents or cell[5] or {}
  local text = pandoc.write(pandoc.Pandoc(blocks), "latex")
  return (text:gsub("%s+$", ""):gsub("\n\n+", " \\newline "))
end

local function row_latex(row, ncols)
  local cells = {}
  for j, cell in ipairs(cells_of(row)) do
    if j <= ncols then cells[#cells + 1] = cell_latex(cell) end
  end
  return table.concat(cells, " & ") .. " \\\\"
end

function tabular(tbl, size)
  local ncols = #tbl.colspecs
  local specs = {}
  for j = 1, ncols do specs[j] = column_spec(tbl.colspecs[j], ncols) end
  local out = { "\\begingroup" .. (size and ("\\" .. size) or "") .. "\\renewcommand{\\arraystretch}{1.15}%",
                "\\begin{tabular}{@{}" .. table.concat(specs) .. "@{}}", "\\toprule" }
  for _, row in ipairs(tbl.head.rows) do out[#out + 1] = row_latex(row, ncols) end
  out[#out + 1] = "\\midrule"
  for _, body in ipairs(tbl.bodies) do
    for _, row in ipairs(body.body) do out[#out + 1] = row_latex(row, ncols) end
  end
  out[#out + 1] = "\\bottomrule"
  out[#out + 1] = "\\end{tabular}\\endgroup"
  return table.concat(out, "\n")
end

local function breakable(text)
  return "\\texttt{\\seqsplit{" .. text .. "}}"
end

function Code(code)
  local text = code.text
  if ulen(text) > 24 and not text:find("%s") and text:match("^[%w%-%./:]+$") then
    return pandoc.RawInline("latex", breakable(text))
  end
end

function Str(str)
  local text = str.text
  if ulen(text) > 24 and text:match("^[%w%-%./:,;()]+$") then
    return pandoc.RawInline("latex", "\\seqsplit{" .. text .. "}")
  end
end
