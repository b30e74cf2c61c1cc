from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import Response

from app.api.deps import CurrentActor, PathId, SessionDep, SettingsDep
from app.errors import Invalid, message_zh
from app.models import ImportJob
from app.schemas.common import ErrorBody
from app.schemas.imports import ImportJobRead, ImportReport
from app.services.imports import jobs

router = APIRouter(tags=["imports"], responses={403: {"model": ErrorBody}, 404: {"model": ErrorBody}})

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _read(job: ImportJob) -> ImportJobRead:
    report = jobs.shown(job)
    return ImportJobRead.model_validate(
        {
            **{
                name: getattr(job, name)
                for name in ImportJobRead.model_fields
                if name not in ("report", "error_zh")
            },
            "report": ImportReport.model_validate(report) if report is not None else None,
            "error_zh": message_zh(job.error) if job.error else None,
        }
    )


@router.post(
    "/imports/households",
    response_model=ImportJobRead,
    status_code=202,
    summary="Import households from a district's file (district office, admin)",
    responses={413: {"model": ErrorBody, "description": "Over the import size limit"}},
)
async def submit(
    file: Annotated[UploadFile, File(description="XLSX or CSV, one row per person")],
    session: SessionDep,
    settings: SettingsDep,
    actor: CurrentActor,
    mapping: Annotated[
        UploadFile | None, File(description="column mapping (YAML); default: the shipped one")
    ] = None,
    dry_run: Annotated[bool, Form(description="check and report only; write nothing")] = True,
    skip_invalid: Annotated[bool, Form(description="write the valid households, list the others")] = False,
    note: Annotated[str, Form(max_length=500, description="where the records come from (audited)")] = "",
) -> ImportJobRead:
    """The worker checks the file (and, unless `dry_run`, writes it) within seconds of the upload; poll the
    job for its progress and report. Nothing is written while any row has a problem, unless
    `skip_invalid`; importing the same file again changes nothing."""
    content = await file.read()
    mapping_text = None
    if mapping is not None:
        try:
            mapping_text = (await mapping.read()).decode("utf-8")
        except UnicodeDecodeError:
            raise Invalid("the mapping must be UTF-8 text (YAML)", field="mapping") from None
    job = jobs.submit(
        session,
        settings,
        actor,
        content=content,
        file_name=file.filename or "upload",
        mapping_text=mapping_text,
        dry_run=dry_run,
        skip_invalid=skip_invalid,
        note=note,
    )
    return _read(job)


@router.get("/imports", response_model=list[ImportJobRead], summary="Recent imports, newest first")
def listing(session: SessionDep, actor: CurrentActor) -> list[ImportJobRead]:
    return [_read(job) for job in jobs.listing(session, actor)]


@router.get("/imports/{import_id}", response_model=ImportJobRead, summary="An import: progress and report")
def read(import_id: PathId, session: SessionDep, actor: CurrentActor) -> ImportJobRead:
    return _read(jobs.get(session, actor, import_id))


@router.get(
    "/imports/{import_id}/problems.xlsx",
    summary="The rows to fix: every row of each household that could not be imported, problems marked",
    response_class=Response,
    responses={
        200: {
            "content": {XLSX: {"schema": {"type": "string", "format": "binary"}}},
            "description": "the workbook",
        }
    },
)
def problems_workbook(
    import_id: PathId, session: SessionDep, settings: SettingsDep, actor: CurrentActor
) -> Response:
    data = jobs.problems_workbook(session, settings, actor, import_id)
    return Response(
        data,
        media_type=XLSX,
        headers={
            "Content-Disposition": f'attachment; filename="import-{import_id}-problems.xlsx"',
            "Cache-Control": "no-store",
        },
    )
